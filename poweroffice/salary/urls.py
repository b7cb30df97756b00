"""URLs of the payroll export, with full paths (included at the site root)."""

from django.urls import path

from poweroffice.salary import views

app_name = "payroll_export"

urlpatterns = [
    path("administrasjon/integrasjoner/", views.integrations, name="integrations"),
    path(
        "administrasjon/integrasjoner/<int:subgroup_id>/aktiver/",
        views.integration_activate,
        name="integration_activate",
    ),
    path(
        "administrasjon/integrasjoner/<int:subgroup_id>/deaktiver/",
        views.integration_deactivate,
        name="integration_deactivate",
    ),
    path("lonn/lonnskoder/", views.wage_codes, name="wage_codes"),
    path("lonn/lonnskoder/kontroller/", views.wage_codes_check, name="wage_codes_check"),
    path("lonn/lonnseksport/", views.export_list, name="list"),
    path("lonn/lonnseksport/ny/", views.export_new, name="new"),
    path("lonn/lonnseksport/<int:export_id>/", views.export_detail, name="detail"),
    path("lonn/lonnseksport/<int:export_id>/status/", views.export_status, name="status"),
    path(
        "lonn/lonnseksport/<int:export_id>/tilbakerulling/",
        views.export_rollback_retry,
        name="rollback_retry",
    ),
]

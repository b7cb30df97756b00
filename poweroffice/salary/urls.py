"""URLs of the payroll export, in two includes (bitnet/urls.py), one per menu:

- ``urlpatterns`` at /lonn/ (namespace ``payroll_export``): Lønnskoder and Lønnseksport;
- ``integrations`` at /administrasjon/integrasjoner/ (namespace ``payroll_integrations``):
  "Aktiver" / "Deaktiver" PowerOffice Go per subgroup.
"""

from django.urls import path

from poweroffice.salary import views

app_name = "payroll_export"

urlpatterns = [
    path("lonnskoder/", views.wage_codes, name="wage_codes"),
    path("lonnskoder/kontroller/", views.wage_codes_check, name="wage_codes_check"),
    path("lonnseksport/", views.export_list, name="list"),
    path("lonnseksport/ny/", views.export_new, name="new"),
    path("lonnseksport/ny/kjorebok/<int:log_id>/turer/", views.export_log_trips, name="log_trips"),
    path("lonnseksport/<int:export_id>/", views.export_detail, name="detail"),
    path("lonnseksport/<int:export_id>/status/", views.export_status, name="status"),
    path(
        "lonnseksport/<int:export_id>/tilbakerulling/",
        views.export_rollback_retry,
        name="rollback_retry",
    ),
    path("lonnseksport/<int:export_id>/gjenoppta/", views.export_recover, name="recover"),
]

integrations = (
    [
        path("", views.integrations, name="index"),
        path("<int:subgroup_id>/aktiver/", views.integration_activate, name="activate"),
        path("<int:subgroup_id>/deaktiver/", views.integration_deactivate, name="deactivate"),
    ],
    "payroll_integrations",
)

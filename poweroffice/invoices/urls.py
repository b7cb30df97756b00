from django.urls import path

from poweroffice.invoices import views

app_name = "poweroffice"

urlpatterns = [
    path("administrasjon/datadeling/", views.datadeling, name="datadeling"),
    path(
        "administrasjon/datadeling/<int:subgroup_id>/avdelinger/",
        views.datadeling_sync_departments,
        name="sync_departments",
    ),
    path("okonomi/ikke-eksporterte/", views.not_exported, name="not_exported"),
    path(
        "okonomi/ikke-eksporterte/eksporter-alle/",
        views.not_exported_export_all,
        name="export_all",
    ),
    path(
        "okonomi/ikke-eksporterte/eksport/<int:batch_id>/",
        views.export_batch_status,
        name="export_batch_status",
    ),
    path(
        "okonomi/ikke-eksporterte/<int:invoice_id>/eksporter/",
        views.not_exported_export,
        name="export_invoice",
    ),
    path(
        "okonomi/ikke-eksporterte/<int:invoice_id>/skjul/",
        views.not_exported_hide,
        name="hide_invoice",
    ),
    path(
        "okonomi/fakturaer/<int:invoice_id>/spesifikasjon.pdf",
        views.invoice_specification,
        name="invoice_specification",
    ),
]

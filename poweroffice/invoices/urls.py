"""Økonomi > Ikke eksporterte fakturaer and the specification PDF, under /okonomi/
(bitnet/urls.py)."""

from django.urls import path

from poweroffice.invoices import views

app_name = "invoice_export"

urlpatterns = [
    path("ikke-eksporterte/", views.not_exported, name="not_exported"),
    path("ikke-eksporterte/eksporter-alle/", views.not_exported_export_all, name="export_all"),
    path(
        "ikke-eksporterte/eksport/<int:batch_id>/",
        views.export_batch_status,
        name="export_batch_status",
    ),
    path(
        "ikke-eksporterte/<int:invoice_id>/eksporter/",
        views.not_exported_export,
        name="export_invoice",
    ),
    path("ikke-eksporterte/<int:invoice_id>/skjul/", views.not_exported_hide, name="hide_invoice"),
    path(
        "fakturaer/<int:invoice_id>/spesifikasjon.pdf",
        views.invoice_specification,
        name="invoice_specification",
    ),
    path(
        "fakturaer/<int:invoice_id>/forhandsvis-eksport/",
        views.invoice_preview,
        name="invoice_preview",
    ),
]

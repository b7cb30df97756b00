"""Økonomi > Fakturaer (included under "okonomi/"; the PDF and "Ikke eksporterte" pages live in
the poweroffice app)."""

from django.urls import path

from accounting.invoices import views

app_name = "accounting"

urlpatterns = [
    path("fakturaer/", views.invoice_list, name="invoice_list"),
    path("fakturaer/ny/", views.invoice_new, name="invoice_new"),
    path("fakturaer/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("fakturaer/<int:pk>/krediter/", views.invoice_credit, name="invoice_credit"),
]

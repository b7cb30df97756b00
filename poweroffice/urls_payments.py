"""Administrasjon > Betalingssjekk (included at "", so the paths are full)."""

from django.urls import path

from poweroffice import views_payments

app_name = "poweroffice_payments"

urlpatterns = [
    path("administrasjon/betalingssjekk/", views_payments.payments_page, name="overview"),
    path(
        "administrasjon/betalingssjekk/<int:subgroup_id>/kjor/",
        views_payments.payments_run_now,
        name="run_now",
    ),
]

"""Administrasjon > Betalingssjekk (included at "", so the paths are full)."""

from django.urls import path

from poweroffice.payments import views

app_name = "poweroffice_payments"

urlpatterns = [
    path("administrasjon/betalingssjekk/", views.payments_page, name="overview"),
    path(
        "administrasjon/betalingssjekk/<int:subgroup_id>/kjor/",
        views.payments_run_now,
        name="run_now",
    ),
]

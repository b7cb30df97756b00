"""Administrasjon > Betalingssjekk (included at /administrasjon/betalingssjekk/)."""

from django.urls import path

from poweroffice.payments import views

app_name = "poweroffice_payments"

urlpatterns = [
    path("", views.payments_page, name="overview"),
    path("<int:subgroup_id>/kjor/", views.payments_run_now, name="run_now"),
]

"""Økonomi > Integrasjonsstatus, under /okonomi/integrasjonsstatus/ (bitnet/urls.py)."""

from django.urls import path

from poweroffice.overview import views

app_name = "integration_overview"

urlpatterns = [path("", views.index, name="index")]

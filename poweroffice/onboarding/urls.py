"""Koble til PowerOffice, under /poweroffice/onboarding/ (bitnet/urls.py)."""

from django.urls import path

from poweroffice.onboarding import views

app_name = "onboarding"

urlpatterns = [
    path("start/", views.onboarding_start, name="start"),
    path("retur/", views.onboarding_return, name="return"),
    path("bekreft/", views.onboarding_confirm, name="confirm"),
    path("ferdig/", views.onboarding_done, name="done"),
]

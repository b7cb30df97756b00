from django.urls import path  # noqa: F401

app_name = "poweroffice_payments"

urlpatterns: list = []

from django.urls import path  # noqa: F401

app_name = "payroll_export"

urlpatterns: list = []

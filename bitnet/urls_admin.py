from django.urls import path  # noqa: F401

app_name = "bitnet_admin"

urlpatterns: list = []

"""Økonomi > Kunder (included under "okonomi/")."""

from django.urls import path

from accounting.customers import views

app_name = "customers"

urlpatterns = [
    path("kunder/", views.customer_list, name="customer_list"),
    path("kunder/ny/", views.customer_new, name="customer_new"),
    path("kunder/<int:pk>/", views.customer_edit, name="customer_edit"),
]

"""Administrasjon > Datadeling, under /administrasjon/datadeling/ (bitnet/urls.py)."""

from django.urls import path

from poweroffice.datadeling import views

app_name = "datadeling"

urlpatterns = [
    path("", views.datadeling, name="index"),
    path("<int:subgroup_id>/test/", views.datadeling_test_connection, name="test_connection"),
    path(
        "<int:subgroup_id>/avdelinger/",
        views.datadeling_sync_departments,
        name="sync_departments",
    ),
]

"""Administrasjon > Brukere and Administrasjon > Byrå (included under "administrasjon/")."""

from django.urls import path

from bitnet import views_admin

app_name = "bitnet_admin"

urlpatterns = [
    path("brukere/", views_admin.user_list, name="user_list"),
    path("brukere/ny/", views_admin.user_create_view, name="user_create"),
    path("brukere/<int:pk>/", views_admin.user_edit, name="user_edit"),
    path("byra/", views_admin.office_list, name="office_list"),
    path("byra/ny/", views_admin.office_create_view, name="office_create"),
    path("byra/<int:pk>/", views_admin.office_edit, name="office_edit"),
    path("byra/undergrupper/<int:pk>/", views_admin.subgroup_edit, name="subgroup_edit"),
]

"""Administrasjon > Brukere and Administrasjon > Byrå (included under "administrasjon/")."""

from django.urls import path

from bitnet.agencies import views

app_name = "bitnet_admin"

urlpatterns = [
    path("brukere/", views.user_list, name="user_list"),
    path("brukere/ny/", views.user_create_view, name="user_create"),
    path("brukere/<int:pk>/", views.user_edit, name="user_edit"),
    path("byra/", views.office_list, name="office_list"),
    path("byra/ny/", views.office_create_view, name="office_create"),
    path("byra/<int:pk>/", views.office_edit, name="office_edit"),
    path("byra/undergrupper/<int:pk>/", views.subgroup_edit, name="subgroup_edit"),
]

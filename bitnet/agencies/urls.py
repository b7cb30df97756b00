"""Administrasjon > Byrå: offices and subgroups (included under "administrasjon/")."""

from django.urls import path

from bitnet.agencies import views

app_name = "agencies"

urlpatterns = [
    path("byra/", views.office_list, name="office_list"),
    path("byra/ny/", views.office_create_view, name="office_create"),
    path("byra/<int:pk>/", views.office_edit, name="office_edit"),
    path("byra/undergrupper/<int:pk>/", views.subgroup_edit, name="subgroup_edit"),
]

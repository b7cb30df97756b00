"""Administrasjon > Brukere (included under "administrasjon/")."""

from django.urls import path

from bitnet.users import views

app_name = "users"

urlpatterns = [
    path("brukere/", views.user_list, name="user_list"),
    path("brukere/ny/", views.user_create_view, name="user_create"),
    path("brukere/<int:pk>/", views.user_edit, name="user_edit"),
]

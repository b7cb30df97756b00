from django.urls import path

from poweroffice import views_validation

app_name = "poweroffice_validation"

urlpatterns = [
    path(
        "administrasjon/kontoplan/valider/",
        views_validation.account_validation,
        name="account_validation",
    ),
    path(
        "administrasjon/datadeling/<int:subgroup_id>/forutsetninger/",
        views_validation.prerequisites_refresh,
        name="prerequisites",
    ),
]

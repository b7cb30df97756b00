"""Kontoplan > "Valider kontoplan" and the "Sjekk på nytt" button of Datadeling's checklist.

Both live under Administrasjon (kontoplan/ and datadeling/). The namespace is kept from before
the split: templates of other features use it.
"""

from django.urls import path

from poweroffice.chart import views

app_name = "poweroffice_validation"

urlpatterns = [
    path(
        "administrasjon/kontoplan/valider/",
        views.account_validation,
        name="account_validation",
    ),
    path(
        "administrasjon/datadeling/<int:subgroup_id>/forutsetninger/",
        views.prerequisites_refresh,
        name="prerequisites",
    ),
]

"""Kontoplan > "Valider kontoplan" and the "Sjekk på nytt" button of Datadeling's checklist,
under /administrasjon/ (bitnet/urls.py): kontoplan/valider/ and datadeling/<id>/forutsetninger/.

The namespace is kept from before the split: templates of other features use it.
"""

from django.urls import path

from poweroffice.chart import views

app_name = "poweroffice_validation"

urlpatterns = [
    path("kontoplan/valider/", views.account_validation, name="account_validation"),
    path(
        "datadeling/<int:subgroup_id>/forutsetninger/",
        views.prerequisites_refresh,
        name="prerequisites",
    ),
]

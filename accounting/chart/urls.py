"""Administrasjon > Kontoplan, Varer and MVA-koder (included under "administrasjon/").

Kontoplan > "Valider kontoplan" (kontoplan/valider/) lives in poweroffice.chart.urls.
"""

from django.urls import path

from accounting.chart import views

app_name = "accounting_admin"

urlpatterns = [
    path("kontoplan/", views.account_list, name="account_list"),
    path("kontoplan/ny/", views.account_create_view, name="account_create"),
    path("kontoplan/<int:pk>/", views.account_edit, name="account_edit"),
    path("varer/", views.article_list, name="article_list"),
    path("varer/ny/", views.article_create_view, name="article_create"),
    path("varer/<int:pk>/", views.article_edit, name="article_edit"),
    path("mva-koder/", views.vat_code_list, name="vat_code_list"),
    path("mva-koder/ny/", views.vat_code_create_view, name="vat_code_create"),
    path("mva-koder/<int:pk>/", views.vat_code_edit, name="vat_code_edit"),
]

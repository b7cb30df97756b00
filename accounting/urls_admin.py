"""Administrasjon > Kontoplan, Varer and MVA-koder (included under "administrasjon/").

Kontoplan > "Valider kontoplan" (kontoplan/valider/) lives in poweroffice.urls_validation.
"""

from django.urls import path

from accounting import views_admin

app_name = "accounting_admin"

urlpatterns = [
    path("kontoplan/", views_admin.account_list, name="account_list"),
    path("kontoplan/ny/", views_admin.account_create_view, name="account_create"),
    path("kontoplan/<int:pk>/", views_admin.account_edit, name="account_edit"),
    path("varer/", views_admin.article_list, name="article_list"),
    path("varer/ny/", views_admin.article_create_view, name="article_create"),
    path("varer/<int:pk>/", views_admin.article_edit, name="article_edit"),
    path("mva-koder/", views_admin.vat_code_list, name="vat_code_list"),
    path("mva-koder/ny/", views_admin.vat_code_create_view, name="vat_code_create"),
    path("mva-koder/<int:pk>/", views_admin.vat_code_edit, name="vat_code_edit"),
]

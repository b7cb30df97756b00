"""Økonomi > Avstemming (included at /okonomi/avstemming/)."""

from django.urls import path

from poweroffice.reconciliation import views

app_name = "reconciliation"

urlpatterns = [
    path("", views.reconciliation_page, name="index"),
    path("avstem/", views.reconciliation_start_view, name="start"),
    path("<int:pk>/", views.reconciliation_detail, name="detail"),
    path("<int:pk>/avvik.csv", views.reconciliation_csv_view, name="csv"),
    path("<int:pk>/rapport.pdf", views.reconciliation_pdf_view, name="pdf"),
]

"""Lønn > Kjørebøker (included at /lonn/kjoreboker/)."""

from django.urls import path

from payroll.drivinglogs import views

app_name = "payroll"

urlpatterns = [
    path("", views.drivinglog_list, name="drivinglog_list"),
    path("ny/", views.drivinglog_new, name="drivinglog_new"),
    path("<int:pk>/", views.drivinglog_detail, name="drivinglog_detail"),
    path("<int:pk>/status/", views.drivinglog_status, name="drivinglog_status"),
    path("<int:pk>/turer/ny/", views.trip_new, name="trip_new"),
    path("<int:pk>/turer/<int:trip_id>/", views.trip_edit, name="trip_edit"),
    path("<int:pk>/turer/<int:trip_id>/slett/", views.trip_delete, name="trip_delete"),
]

"""Lønn > Kjørebøker (/lonn/kjoreboker/). Lønnseksport and Lønnskoder are in urls_export."""

from django.urls import path

from payroll.drivinglogs import views

app_name = "payroll"

urlpatterns = [
    path("kjoreboker/", views.drivinglog_list, name="drivinglog_list"),
    path("kjoreboker/ny/", views.drivinglog_new, name="drivinglog_new"),
    path("kjoreboker/<int:pk>/", views.drivinglog_detail, name="drivinglog_detail"),
    path("kjoreboker/<int:pk>/status/", views.drivinglog_status, name="drivinglog_status"),
    path("kjoreboker/<int:pk>/turer/ny/", views.trip_new, name="trip_new"),
    path("kjoreboker/<int:pk>/turer/<int:trip_id>/", views.trip_edit, name="trip_edit"),
    path("kjoreboker/<int:pk>/turer/<int:trip_id>/slett/", views.trip_delete, name="trip_delete"),
]

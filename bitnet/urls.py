from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from bitnet import views
from bitnet.forms_auth import LoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "logg-inn/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=LoginForm
        ),
        name="login",
    ),
    path("logg-ut/", auth_views.LogoutView.as_view(), name="logout"),
    path("administrasjon/", include("bitnet.urls_admin")),
    path("administrasjon/", include("accounting.urls_admin")),
    path("okonomi/", include("accounting.urls")),
    path("lonn/", include("payroll.urls")),
    path("", include("payroll.urls_export")),
    path("", include("poweroffice.urls")),
    path("", include("poweroffice.urls_validation")),
    path("", include("poweroffice.urls_payments")),
    path("django-admin/", admin.site.urls),
]

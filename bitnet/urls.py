from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from bitnet import views
from bitnet.users.auth import LoginForm
from bitnet.users.profile import profile
from poweroffice.salary import urls as salary_urls

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
    path("administrasjon/", include("bitnet.users.urls")),
    path("profil/", profile, name="profile"),
    path("administrasjon/", include("bitnet.agencies.urls")),
    path("administrasjon/", include("accounting.chart.urls")),
    path("okonomi/", include("accounting.invoices.urls")),
    path("okonomi/", include("accounting.customers.urls")),
    path("lonn/kjoreboker/", include("payroll.drivinglogs.urls")),
    path("lonn/", include("poweroffice.salary.urls")),
    path("administrasjon/integrasjoner/", include(salary_urls.integrations)),
    path("okonomi/", include("poweroffice.invoices.urls")),
    path("okonomi/avstemming/", include("poweroffice.reconciliation.urls")),
    path("okonomi/integrasjonsstatus/", include("poweroffice.overview.urls")),
    path("administrasjon/datadeling/", include("poweroffice.datadeling.urls")),
    path("poweroffice/onboarding/", include("poweroffice.onboarding.urls")),
    path("administrasjon/", include("poweroffice.chart.urls")),
    path("administrasjon/betalingssjekk/", include("poweroffice.payments.urls")),
    path("django-admin/", admin.site.urls),
]

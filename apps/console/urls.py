from django.urls import include, path

from apps.accounts.views import ConsoleLoginView, choose_new_password
from apps.console import views
from apps.console.catalogue import urls as catalogue_urls
from apps.console.events import urls as events_urls
from apps.console.jobs import urls as jobs_urls
from apps.console.members import urls as members_urls
from apps.console.workers import urls as workers_urls

app_name = "console"

urlpatterns = [
    path("", views.console_home, name="home"),
    # Before the tenant pages: "login" is kept out of tenant names (apps/tenants/services.py).
    path("login/", ConsoleLoginView.as_view(), name="login"),
    path("login/new-password", choose_new_password, name="login-new-password"),
    # Platform pages, also before the tenant pages ("workers" is a reserved tenant name too).
    path("", include(workers_urls.urlpatterns)),
    path("<str:tenant>/", include(jobs_urls.urlpatterns)),
    path("<str:tenant>/", include(catalogue_urls.urlpatterns)),
    path("<str:tenant>/", include(members_urls.urlpatterns)),
    path("<str:tenant>/", include(events_urls.urlpatterns)),
]

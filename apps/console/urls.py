from django.urls import include, path

from apps.console import views
from apps.console.catalogue import urls as catalogue_urls
from apps.console.jobs import urls as jobs_urls

app_name = "console"

urlpatterns = [
    path("", views.console_home, name="home"),
    path("<str:tenant>/", include(jobs_urls.urlpatterns)),
    path("<str:tenant>/", include(catalogue_urls.urlpatterns)),
]

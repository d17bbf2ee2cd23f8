from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from oauth2_provider.views import TokenView

from apps.core.views import home

urlpatterns = [
    path("", home, name="home"),
    path("oauth/token", TokenView.as_view(), name="oauth-token"),
    path("api/schema", SpectacularAPIView.as_view(), name="openapi-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="openapi-docs"),
    path("api/redoc", SpectacularRedocView.as_view(url_name="openapi-schema"), name="openapi-redoc"),
    path("admin/", admin.site.urls),
    path("", include("apps.jobs.urls")),
]

handler400 = "apps.core.errors.bad_request"
handler404 = "apps.core.errors.page_not_found"
handler500 = "apps.core.errors.server_error"

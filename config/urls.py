from typing import Any

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from apps.accounts.token_endpoint import ClientCredentialsTokenView
from apps.core.views import home

# The API description is public: a stale Authorization header a browser or tool sends along must not hide it.
PUBLIC: dict[str, Any] = {"authentication_classes": [], "permission_classes": [AllowAny]}

urlpatterns = [
    path("", home, name="home"),
    path("oauth/token", ClientCredentialsTokenView.as_view(), name="oauth-token"),
    path("api/schema", SpectacularAPIView.as_view(**PUBLIC), name="openapi-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="openapi-schema", **PUBLIC), name="openapi-docs"),
    path("api/redoc", SpectacularRedocView.as_view(url_name="openapi-schema", **PUBLIC), name="openapi-redoc"),
    path("admin/", admin.site.urls),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("console/", include("apps.console.urls")),
    path("", include("apps.jobs.urls")),
    path("", include("apps.agents.urls")),
]

handler400 = "apps.core.errors.bad_request"
handler404 = "apps.core.errors.page_not_found"
handler500 = "apps.core.errors.server_error"

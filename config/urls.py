from typing import Any

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from apps.accounts.token_endpoint import ClientCredentialsTokenView
from apps.core.views import home

# The API description is public: a stale Authorization header a browser or tool sends along must not hide it.
PUBLIC: dict[str, Any] = {"authentication_classes": [], "permission_classes": [AllowAny]}

urlpatterns = [
    path("", home, name="home"),
    path("oauth/token", ClientCredentialsTokenView.as_view(), name="oauth-token"),
    path("api/schema", SpectacularAPIView.as_view(**PUBLIC), name="openapi-schema"),
    # Swagger UI and Redoc come from the drf-spectacular-sidecar package: nothing from another origin, and they work
    # offline. The split view serves Swagger UI's start-up script as a file (?script), so no inline code is needed.
    path(
        "api/docs",
        SpectacularSwaggerSplitView.as_view(url_name="openapi-schema", template_name="api/swagger_ui.html", **PUBLIC),
        name="openapi-docs",
    ),
    # Redoc draws with styles it inserts at run time and parses in a worker made from a blob: both allowed here only.
    path(
        "api/redoc",
        csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(
            SpectacularRedocView.as_view(url_name="openapi-schema", template_name="api/redoc.html", **PUBLIC)
        ),
        name="openapi-redoc",
    ),
    path("", include("apps.ops.urls")),
    path("admin/", admin.site.urls),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("console/", include("apps.console.urls")),
    path("", include("apps.jobs.urls")),
    path("", include("apps.agentic.urls")),
    path("", include("apps.agents.urls")),
]

handler400 = "apps.core.errors.bad_request"
handler403 = "apps.core.errors.permission_denied"
handler404 = "apps.core.errors.page_not_found"
handler500 = "apps.core.errors.server_error"

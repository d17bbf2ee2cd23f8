"""Template context for the console's pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def sign_in_options(request: HttpRequest) -> dict[str, Any]:
    return {"oidc_enabled": settings.OIDC_ENABLED, "local_login": settings.CONSOLE_LOCAL_LOGIN}

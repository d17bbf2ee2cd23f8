"""The console's Content-Security-Policy and the company's OpenID provider."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from apps.accounts import oidc


class ProviderFormAction:
    """Adds the provider's origin to the policy's form-action on console pages when provider sign-in is on.

    Signing out posts a form that the console redirects to the provider's end-session endpoint, and browsers hold
    that redirect to the form-action of the page the form was on. Only what is known without a request is used:
    the issuer, explicit endpoints, and a discovery document already fetched (never fetched here, so a provider that
    is down cannot slow every page).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if settings.OIDC_ENABLED and response.get("Content-Type", "").startswith("text/html"):
            origins = provider_origins()
            update = dict(getattr(response, "_csp_update", None) or {})
            update["form-action"] = [*update.get("form-action", []), *origins]
            response._csp_update = update  # type: ignore[attr-defined]  # read by django-csp's middleware
        return response


def provider_origins() -> list[str]:
    document = oidc.discovered()
    urls = (
        settings.OIDC_OP_ISSUER,
        settings.OIDC_OP_AUTHORIZATION_ENDPOINT,
        settings.OIDC_OP_END_SESSION_ENDPOINT,
        document.get("authorization_endpoint"),
        document.get("end_session_endpoint"),
    )
    return sorted({origin for url in urls for origin in _origin(url)})


def _origin(url: object) -> list[str]:
    parts = urlsplit(url if isinstance(url, str) else "")
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme in ("http", "https") and parts.netloc else []

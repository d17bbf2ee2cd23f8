"""Rate limits of the token endpoint (django-ratelimit) and of console sign-in (django-axes).

Both count in the shared cache (settings.CACHES), so every web process sees the same counters.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

from apps.core.metrics import rate_limit_refused


def client_address(request: HttpRequest) -> str:
    # The peer's address, never a forwarded header a client could write itself.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


@dataclass(frozen=True)
class Limited:
    what: str  # "client" or "address"
    retry_after: int  # seconds


def token_request_limited(request: HttpRequest, *, client_id: str | None) -> Limited | None:
    """Counts this token request against its address and, when it names one, its client id; says which limit (if
    any) it is over."""
    checks = [("address", client_address(request), settings.OAUTH_TOKEN_RATE_PER_ADDRESS)]
    if client_id:
        checks.append(("client", client_id, settings.OAUTH_TOKEN_RATE_PER_CLIENT))
    for what, value, rate in checks:
        usage = get_usage(
            request,
            group=f"oauth-token-{what}",
            # Any text can arrive here (NUL, lone surrogates): count by a digest of it.
            key=lambda group, request, value=value: _digest(value),
            rate=rate,
            increment=True,
        )
        if usage is not None and usage["should_limit"]:
            rate_limit_refused(f"oauth_token_{what}")
            return Limited(what=what, retry_after=max(1, int(usage["time_left"])))
    return None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def sign_in_locked_out(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes' lockout answer: a page that says what happened and when to try again, 429 with Retry-After."""
    rate_limit_refused("sign_in")
    seconds = settings.SIGN_IN_LOCKOUT_SECONDS
    context = {
        **admin.site.each_context(request),  # the page looks like the sign-in page it replaces
        "failure_limit": settings.SIGN_IN_FAILURE_LIMIT,
        "retry_minutes": math.ceil(seconds / 60),
    }
    response = render(request, "accounts/sign_in_locked.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response

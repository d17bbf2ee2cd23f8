"""The tenant's commerce events in the console: where senders post them, how they sign them, the deliveries
received lately, and, for managers and platform admins, the signing secret (shown when asked for, by a POST) and
its rotation. Viewers see the page without the secret and without the buttons."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_variables

from apps.agentic.events.errors import EventSecretUnreadable
from apps.agentic.events.selectors import delivery_list
from apps.console.access import TenantAccess, allow, tenant_access
from apps.console.events import services


@login_required
@allow("GET")
def events_page(request: HttpRequest, tenant: str) -> HttpResponse:
    return _page(request, tenant_access(request.user, tenant))


@login_required
@sensitive_variables("secret")
@allow("POST")
def events_secret(request: HttpRequest, tenant: str) -> HttpResponse:
    access = tenant_access(request.user, tenant, act=True)
    try:
        secret = services.secret_reveal(actor=request.user, tenant=access.tenant)
    except EventSecretUnreadable as exc:
        messages.error(request, f"{exc.message} Rotate it to make a new one.")
        return _page(request, access, status=409)
    return _page(request, access, secret=secret)


@login_required
@sensitive_variables("secret")
@allow("GET", "POST")
def events_rotate(request: HttpRequest, tenant: str) -> HttpResponse:
    access = tenant_access(request.user, tenant, act=True)
    if request.method == "GET":
        context = {"access": access, "section": "events", "grace": settings.EVENT_SECRET_GRACE_SECONDS}
        return render(request, "console/events/rotate_confirm.html", context)
    secret = services.secret_rotate(actor=request.user, tenant=access.tenant)
    grace = settings.EVENT_SECRET_GRACE_SECONDS
    messages.success(request, f"A new secret is in use. The previous one keeps working for {grace} s.")
    return _page(request, access, secret=secret)


def _page(request: HttpRequest, access: TenantAccess, *, secret: str | None = None, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {
        "access": access,
        "section": "events",
        "inbox_url": request.build_absolute_uri(f"/ai-service/{access.tenant.name}/agentic/commerce-events/inbox"),
        "deliveries": delivery_list(tenant=access.tenant),
        "events_accepted": settings.AGENT_COMMERCE_EVENTS,
        "tolerance": settings.COMMERCE_EVENT_TOLERANCE_SECONDS,
        "grace": settings.EVENT_SECRET_GRACE_SECONDS,
        "secret": secret,
        "jobs_url": reverse("console:jobs", args=[access.tenant.name]),
    }
    response = render(request, "console/events/page.html", context, status=status)
    if secret is not None:
        # The secret is only ever in the answer to a POST, and no cache keeps that answer.
        add_never_cache_headers(response)
    return response

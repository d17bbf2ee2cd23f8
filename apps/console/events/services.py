"""Writes of the commerce events page: showing the tenant's signing secret and rotating it, each recorded in the
audit trail (never the secret itself)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from apps.agentic.events.services import event_secret_get, event_secret_rotate
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.tenants.models import Tenant


@sensitive_variables("secret")
def secret_reveal(*, actor: Any, tenant: Tenant) -> str:
    """The tenant's secret (made on first use), for a manager who asked to see it."""
    with transaction.atomic():
        secret = event_secret_get(tenant=tenant)
        audit_record(user=actor, tenant=tenant, action=AuditEvent.Action.EVENT_SECRET_REVEAL)
    return secret


@sensitive_variables("secret")
def secret_rotate(*, actor: Any, tenant: Tenant) -> str:
    """A new secret for the tenant; the old one keeps working for EVENT_SECRET_GRACE_SECONDS."""
    with transaction.atomic():
        secret = event_secret_rotate(tenant=tenant)
        detail = {"graceSeconds": settings.EVENT_SECRET_GRACE_SECONDS}
        audit_record(user=actor, tenant=tenant, action=AuditEvent.Action.EVENT_SECRET_ROTATE, detail=detail)
    return secret

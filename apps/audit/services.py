"""Writes to the audit trail: the console's actions name their user, the API's writes their client."""

from __future__ import annotations

from typing import Any

from apps.accounts.principal import ApiPrincipal
from apps.audit.models import AuditEvent
from apps.tenants.models import Tenant


def audit_record(
    *, user: Any, tenant: Tenant, action: AuditEvent.Action, object_id: str = "", detail: dict[str, Any] | None = None
) -> AuditEvent:
    return AuditEvent.objects.create(
        user=user if getattr(user, "pk", None) else None,
        username=getattr(user, "username", "") or "",
        tenant=tenant,
        action=action,
        object_id=object_id,
        detail=detail or {},
    )


def audit_record_api(
    *,
    principal: ApiPrincipal | Any,
    tenant: Tenant,
    action: AuditEvent.Action,
    object_id: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """A write made through the API, by the client (and, for an external token, the subject) the token names.
    `principal` is the request's `auth`, which the API's permission check has made an ApiPrincipal."""
    if not isinstance(principal, ApiPrincipal):
        raise TypeError("An API write is audited with the principal of its access token.")
    return AuditEvent.objects.create(
        user=None,
        username="",
        api_client_id=principal.client_id[:255],
        subject=principal.subject[:255],
        tenant=tenant,
        action=action,
        object_id=object_id[:255],
        detail=detail or {},
    )

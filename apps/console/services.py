"""Writes of the console itself."""

from __future__ import annotations

from typing import Any

from apps.console.models import AuditEvent
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

from __future__ import annotations

from apps.tenants.models import Tenant


def tenant_get(*, name: str) -> Tenant | None:
    return Tenant.objects.filter(name=name).first()

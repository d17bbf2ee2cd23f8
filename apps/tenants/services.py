from __future__ import annotations

from apps.tenants.models import Tenant


def tenant_create(*, name: str) -> Tenant:
    tenant = Tenant(name=name)
    tenant.full_clean()
    tenant.save()
    return tenant

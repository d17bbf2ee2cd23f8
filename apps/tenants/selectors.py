from __future__ import annotations

from apps.tenants.models import Tenant


def tenant_get(*, name: str) -> Tenant | None:
    return Tenant.objects.filter(name=name).first()


def tenant_id_for(*, name: str) -> int | None:
    """The tenant's primary key, to scope queries by a constant: joining on the name instead hides from the
    planner which tenant (and how many rows) a query is about."""
    return Tenant.objects.filter(name=name).values_list("id", flat=True).first()

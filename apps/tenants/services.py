from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from apps.tenants.models import Membership, Tenant

# Console paths beside /console/<tenant>/ (apps/console/urls.py): a tenant of that name could not be reached.
RESERVED_NAMES = frozenset({"login", "logout", "workers"})


def tenant_create(*, name: str) -> Tenant:
    if name in RESERVED_NAMES:
        raise ValidationError(f"{name!r} is reserved for the console's own pages; choose another tenant name.")
    tenant = Tenant(name=name)
    tenant.full_clean()
    tenant.save()
    return tenant


def membership_set(*, user: Any, tenant: Tenant, role: str) -> Membership:
    """Give the user this role in the tenant, adding them as a member when they are not one yet."""
    if role not in Membership.Role.values:
        raise ValidationError(f"Unknown role {role!r}: use {' or '.join(Membership.Role.values)}.")
    membership, _ = Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
    return membership


def membership_remove(*, membership: Membership) -> None:
    membership.delete()

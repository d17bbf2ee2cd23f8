from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from apps.accounts.models import OidcIdentity
from apps.tenants.models import Membership, Tenant


def tenant_get(*, name: str) -> Tenant | None:
    return Tenant.objects.filter(name=name).first()


def tenant_id_for(*, name: str) -> int | None:
    """The tenant's primary key, to scope queries by a constant: joining on the name instead hides from the
    planner which tenant (and how many rows) a query is about."""
    return Tenant.objects.filter(name=name).values_list("id", flat=True).first()


def membership_list(*, tenant: Tenant) -> QuerySet[Membership]:
    """The tenant's members, each marked `provider_managed` when the company's provider sets their roles."""
    return (
        Membership.objects.filter(tenant=tenant)
        .select_related("user")
        .annotate(provider_managed=Exists(OidcIdentity.objects.filter(user_id=OuterRef("user_id"))))
        .order_by("user__username")
    )


def membership_get(*, tenant: Tenant, user_id: int) -> Membership | None:
    return membership_list(tenant=tenant).filter(user_id=user_id).first()


def membership_roles_of(*, user_id: int) -> dict[int, str]:
    """Every tenant (by id) the user is a member of, with the role."""
    return dict(Membership.objects.filter(user_id=user_id).values_list("tenant_id", "role"))

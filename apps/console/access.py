"""Who may see and do what in the console. Every console view finds its tenant here.

A platform admin (superuser) manages every tenant; other users act on the tenants they are members of, as a
manager (read and act) or a viewer (read only). A tenant the user may not see answers 404, never 403, so the
console does not tell outsiders which tenants exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed

from apps.tenants.models import Membership, Tenant

AnyUser = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class TenantAccess:
    tenant: Tenant
    role: str  # Membership.Role value; platform admins are managers everywhere

    @property
    def can_act(self) -> bool:
        return self.role == Membership.Role.MANAGER


def tenants_for(user: AnyUser) -> list[TenantAccess]:
    if not user.is_authenticated:
        return []
    if getattr(user, "is_superuser", False):
        return [TenantAccess(tenant, Membership.Role.MANAGER) for tenant in Tenant.objects.order_by("name")]
    memberships = Membership.objects.filter(user_id=user.pk).select_related("tenant").order_by("tenant__name")
    return [TenantAccess(m.tenant, m.role) for m in memberships]


def tenant_access(user: AnyUser, name: str, *, act: bool = False) -> TenantAccess:
    """The user's access to the tenant; 404 when they may not see it, 403 when they may see but not act."""
    access = next((a for a in tenants_for_name(user, name)), None)
    if access is None:
        raise Http404("No such tenant.")
    if act and not access.can_act:
        raise PermissionDenied("Viewers can look but not act.")
    return access


def tenants_for_name(user: AnyUser, name: str) -> list[TenantAccess]:
    if not user.is_authenticated:
        return []
    if getattr(user, "is_superuser", False):
        return [TenantAccess(t, Membership.Role.MANAGER) for t in Tenant.objects.filter(name=name)]
    memberships = Membership.objects.filter(user_id=user.pk, tenant__name=name).select_related("tenant")
    return [TenantAccess(m.tenant, m.role) for m in memberships]


View = Callable[..., HttpResponse]


def allow(*methods: str) -> Callable[[View], View]:
    """require_http_methods, but after the tenant check: another tenant's path is a 404 whatever the method, so
    that an outsider learns nothing from it, not even which methods it takes."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, tenant: str, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                tenant_access(request.user, tenant)
                return HttpResponseNotAllowed(methods)
            return view(request, tenant, *args, **kwargs)

        return checked

    return decorate

"""Writes for local console users: people who sign in with a password kept here, not at the company's provider.

Their roles are set here (commands, the console's members page); the roles of provider users follow the provider's
claims at every sign-in (apps/accounts/oidc.py), so nothing here changes those."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import OidcIdentity, PasswordChangeRequired
from apps.accounts.oidc import ConsoleRoles
from apps.tenants.models import Membership, Tenant

PLATFORM_ADMIN = "platform_admin"
ROLE_FORMS = "platform_admin, manager:TENANT or viewer:TENANT"


@dataclass(frozen=True)
class IssuedPassword:
    user: Any
    password: str  # the only time the plain password exists outside its owner's hands


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def roles_parse(values: list[str]) -> ConsoleRoles:
    """Roles from `platform_admin`, `manager:TENANT`, `viewer:TENANT`; the tenants must exist. Of two roles for
    one tenant the stronger wins, as for the provider's claims."""
    admin, tenants = False, dict[str, str]()
    for value in values:
        text = value.strip()
        if text == PLATFORM_ADMIN:
            admin = True
            continue
        role, _, tenant = text.partition(":")
        if role not in Membership.Role.values or not tenant:
            raise ValidationError(f"Unknown role {value!r}: use {ROLE_FORMS}.")
        if tenants.get(tenant) != Membership.Role.MANAGER:
            tenants[tenant] = role
    missing = sorted(set(tenants) - set(Tenant.objects.filter(name__in=list(tenants)).values_list("name", flat=True)))
    if missing:
        raise ValidationError(f"No tenant named {', '.join(missing)}; create it with create_tenant first.")
    return ConsoleRoles(platform_admin=admin, tenants=tenants)


def user_is_provider_managed(*, user: Any) -> bool:
    return OidcIdentity.objects.filter(user_id=user.pk).exists()


@transaction.atomic
def local_user_create(
    *, username: str, email: str = "", roles: ConsoleRoles, password: str | None = None
) -> IssuedPassword:
    """A user who signs in with a password: the one given (checked by the password validators) or a new random
    one, which the caller shows once and which its owner must replace at their first sign-in."""
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise ValidationError(f"A user named {username!r} already exists.")
    user = user_model(username=username, email=email)
    generated = password is None
    password = one_time_password() if password is None else password
    validate_password(password, user)
    user.set_password(password)
    _apply_flags(user, roles)
    user.full_clean()
    user.save()
    _replace_memberships(user, roles)
    if generated:
        PasswordChangeRequired.objects.create(user=user)
    return IssuedPassword(user=user, password=password)


@transaction.atomic
def local_user_set_roles(*, user: Any, roles: ConsoleRoles) -> None:
    """Replace every role of a local user."""
    _refuse_provider_user(user)
    _apply_flags(user, roles)
    user.save(update_fields=["is_staff", "is_superuser"])
    _replace_memberships(user, roles)


@transaction.atomic
def local_user_reset_password(*, user: Any) -> IssuedPassword:
    """A new one-time password; the old one stops working at once, and the owner must replace the new one at
    their next sign-in."""
    _refuse_provider_user(user)
    password = one_time_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    PasswordChangeRequired.objects.update_or_create(user=user)
    return IssuedPassword(user=user, password=password)


def password_change_required(*, user: Any) -> bool:
    return PasswordChangeRequired.objects.filter(user_id=user.pk).exists()


@transaction.atomic
def local_user_choose_password(*, user: Any, password: str) -> None:
    """The owner's own password, replacing a one-time one (checked by the password validators)."""
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    PasswordChangeRequired.objects.filter(user_id=user.pk).delete()


def _refuse_provider_user(user: Any) -> None:
    if user_is_provider_managed(user=user):
        raise ValidationError(f"{user.username} signs in at the company's provider, which manages their roles.")


def _apply_flags(user: Any, roles: ConsoleRoles) -> None:
    # Only platform administrators reach the Django admin; tenant members sign in at /console/login/.
    user.is_staff = user.is_superuser = roles.platform_admin


def _replace_memberships(user: Any, roles: ConsoleRoles) -> None:
    Membership.objects.filter(user=user).exclude(tenant__name__in=list(roles.tenants)).delete()
    for tenant in Tenant.objects.filter(name__in=list(roles.tenants)):
        Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": roles.tenants[tenant.name]})


def roles_describe(roles: ConsoleRoles) -> str:
    parts = ["platform administrator"] if roles.platform_admin else []
    parts += [f"{role} of {tenant}" for tenant, role in sorted(roles.tenants.items())]
    return ", ".join(parts) or "no roles"

"""Writes of the members page: each goes through the accounts or tenants service and leaves an audit event in the
same transaction. Members whose roles come from the company's provider are never changed here."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from apps.accounts.oidc import ConsoleRoles
from apps.accounts.users import IssuedPassword, local_user_create, local_user_reset_password, user_is_provider_managed
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.tenants import selectors as tenant_selectors
from apps.tenants.models import Membership, Tenant
from apps.tenants.services import membership_remove, membership_set


class MemberError(ValidationError):
    """A change the page refuses, with a message for the person who asked."""


@sensitive_variables("issued")
def member_create(*, actor: Any, tenant: Tenant, username: str, email: str, role: str) -> IssuedPassword:
    """A new local user, member of the tenant, with a one-time password the caller shows once."""
    with transaction.atomic():
        issued = local_user_create(username=username, email=email, roles=ConsoleRoles(tenants={tenant.name: role}))
        _audit(actor, tenant, AuditEvent.Action.MEMBER_CREATE, issued.user, role=role)
    return issued


def member_add_existing(*, actor: Any, tenant: Tenant, username: str, role: str) -> Membership:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise MemberError(f"No user named {username!r}.")
    if user.is_superuser:
        raise MemberError(f"{username} is a platform administrator and already sees every tenant.")
    if user.is_staff:  # an account of the Django admin: a tenant manager must not be able to take it over
        raise MemberError(f"{username} is an administration account; a platform administrator manages it.")
    _refuse_provider_member(user)
    if tenant_selectors.membership_get(tenant=tenant, user_id=user.pk) is not None:
        raise MemberError(f"{username} is already a member of {tenant.name}; change their role in the list.")
    with transaction.atomic():
        membership = membership_set(user=user, tenant=tenant, role=role)
        _audit(actor, tenant, AuditEvent.Action.MEMBER_ADD, user, role=role)
    return membership


def member_set_role(*, actor: Any, membership: Membership, role: str) -> None:
    _refuse_provider_member(membership.user)
    with transaction.atomic():
        before = membership.role
        membership_set(user=membership.user, tenant=membership.tenant, role=role)
        _audit(actor, membership.tenant, AuditEvent.Action.MEMBER_ROLE, membership.user, role=role, was=before)


@sensitive_variables("issued")
def member_reset_password(*, actor: Any, membership: Membership) -> IssuedPassword:
    if not may_reset_password(actor=actor, user=membership.user):
        raise MemberError(
            f"{membership.user.username} also has roles you do not manage; a platform administrator can reset "
            "their password."
        )
    _refuse_provider_member(membership.user)
    with transaction.atomic():
        issued = local_user_reset_password(user=membership.user)
        _audit(actor, membership.tenant, AuditEvent.Action.MEMBER_PASSWORD_RESET, membership.user)
    return issued


def member_remove(*, actor: Any, membership: Membership) -> None:
    _refuse_provider_member(membership.user)
    with transaction.atomic():
        membership_remove(membership=membership)
        _audit(actor, membership.tenant, AuditEvent.Action.MEMBER_REMOVE, membership.user, role=membership.role)


def may_reset_password(*, actor: Any, user: Any) -> bool:
    """A new password is a way into every tenant the user is in: a tenant manager may set one only for users whose
    every role is in tenants they manage themselves, and never for a platform administrator or another account of
    the Django admin."""
    if actor.is_superuser:
        return True
    if user.is_superuser or user.is_staff:
        return False
    managed = {
        tenant_id
        for tenant_id, role in tenant_selectors.membership_roles_of(user_id=actor.pk).items()
        if role == Membership.Role.MANAGER
    }
    return set(tenant_selectors.membership_roles_of(user_id=user.pk)) <= managed


def _refuse_provider_member(user: Any) -> None:
    if user_is_provider_managed(user=user):
        raise MemberError(f"{user.username} signs in at the company's provider, which manages their roles.")


def _audit(actor: Any, tenant: Tenant, action: AuditEvent.Action, member: Any, **detail: str) -> None:
    audit_record(
        user=actor, tenant=tenant, action=action, object_id=member.username, detail={"user_id": member.pk, **detail}
    )

"""The tenant's members in the console: list them, add a local user (new, with a password shown once, or existing),
change a role, reset a password (shown once), remove. Managers and platform admins act; viewers only look.
Members whose roles come from the company's provider are listed read-only."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_variables

from apps.accounts.users import IssuedPassword
from apps.console.access import TenantAccess, allow, tenant_access, tenants_for_name
from apps.console.members import services
from apps.console.members.forms import MemberAddForm, MemberRoleForm
from apps.tenants import selectors
from apps.tenants.models import Membership


@login_required
@allow("GET")
def member_list(request: HttpRequest, tenant: str) -> HttpResponse:
    access = tenant_access(request.user, tenant)
    return _list_page(request, access, MemberAddForm())


@login_required
@sensitive_variables()
@allow("POST")
def member_add(request: HttpRequest, tenant: str) -> HttpResponse:
    access = tenant_access(request.user, tenant, act=True)
    form = MemberAddForm(request.POST)
    if not settings.CONSOLE_LOCAL_LOGIN:
        form.add_error(None, "Local sign-in is off: people sign in at the company's provider, which gives their roles.")
    if not form.is_valid():
        return _list_page(request, access, form, status=400)
    data = form.cleaned_data
    try:
        if data["kind"] == MemberAddForm.Kind.NEW:
            issued = services.member_create(
                actor=request.user,
                tenant=access.tenant,
                username=data["username"],
                email=data["email"],
                role=data["role"],
            )
            return _password_page(request, access, issued, created=True)
        services.member_add_existing(
            actor=request.user, tenant=access.tenant, username=data["username"], role=data["role"]
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return _list_page(request, access, form, status=400)
    messages.success(request, f"Added {data['username']} to {access.tenant.name} as {data['role']}.")
    return redirect(reverse("console:members", args=[tenant]))


@login_required
@allow("POST")
def member_role(request: HttpRequest, tenant: str, user_id: int) -> HttpResponse:
    access = tenant_access(request.user, tenant, act=True)
    membership = _membership_or_404(access, user_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose manager or viewer.")
        return redirect(reverse("console:members", args=[tenant]))
    _refuse_provider_member(membership)
    services.member_set_role(actor=request.user, membership=membership, role=form.cleaned_data["role"])
    messages.success(request, f"{membership.user.username} is now {form.cleaned_data['role']} of {tenant}.")
    return _after_change(request, tenant)


@login_required
@sensitive_variables()
@allow("GET", "POST")
def member_password(request: HttpRequest, tenant: str, user_id: int) -> HttpResponse:
    access = tenant_access(request.user, tenant, act=True)
    membership = _membership_or_404(access, user_id)
    _refuse_provider_member(membership)
    if not services.may_reset_password(actor=request.user, user=membership.user):
        raise PermissionDenied("This member has roles you do not manage; a platform administrator can reset it.")
    if request.method == "GET":
        context = {"access": access, "section": "members", "membership": membership}
        return render(request, "console/members/password_confirm.html", context)
    issued = services.member_reset_password(actor=request.user, membership=membership)
    return _password_page(request, access, issued, created=False)


@login_required
@allow("GET", "POST")
def member_remove(request: HttpRequest, tenant: str, user_id: int) -> HttpResponse:
    access = tenant_access(request.user, tenant, act=True)
    membership = _membership_or_404(access, user_id)
    _refuse_provider_member(membership)
    if request.method == "GET":
        context = {"access": access, "section": "members", "membership": membership}
        return render(request, "console/members/remove_confirm.html", context)
    services.member_remove(actor=request.user, membership=membership)
    messages.success(request, f"Removed {membership.user.username} from {tenant}.")
    return _after_change(request, tenant)


def _list_page(request: HttpRequest, access: TenantAccess, form: MemberAddForm, status: int = 200) -> HttpResponse:
    context = {
        "access": access,
        "section": "members",
        "memberships": selectors.membership_list(tenant=access.tenant),
        "roles": Membership.Role.choices,
        "form": form,
    }
    return render(request, "console/members/list.html", context, status=status)


def _password_page(
    request: HttpRequest, access: TenantAccess, issued: IssuedPassword, *, created: bool
) -> HttpResponse:
    context = {"access": access, "section": "members", "member": issued.user, "password": issued.password}
    # Rendered in answer to the POST, never behind a URL that could be loaded again; and kept by no cache.
    response = render(
        request, "console/members/password.html", {**context, "created": created}, status=201 if created else 200
    )
    add_never_cache_headers(response)
    return response


def _membership_or_404(access: TenantAccess, user_id: int) -> Membership:
    membership = selectors.membership_get(tenant=access.tenant, user_id=user_id)
    if membership is None:
        raise Http404("No such member.")
    return membership


def _refuse_provider_member(membership: Membership) -> None:
    if getattr(membership, "provider_managed", False):
        raise PermissionDenied("The company's provider manages this member's roles.")


def _after_change(request: HttpRequest, tenant: str) -> HttpResponse:
    # Managers may change their own role or leave; then the members page may no longer be theirs to see.
    still = tenants_for_name(request.user, tenant)
    if still and still[0].can_act:
        return redirect(reverse("console:members", args=[tenant]))
    return redirect(reverse("console:home") if not still else f"/console/{tenant}/")

"""The members page of a tenant: list, add a local user (new with a password shown once, or existing), change a
role, reset a password, remove; every action audited. The access checklist: sign-in required, another tenant's
page is a 404, viewers may look but not act (403), managers and platform admins act. Members whose roles come
from the company's provider are read-only."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from apps.accounts.models import OidcIdentity, PasswordChangeRequired
from apps.audit.models import AuditEvent
from apps.tenants.models import Membership, Tenant
from tests.console.conftest import SIGN_IN

PASSWORD = "the old pass phrase"


@pytest.fixture
def colleague(tenant: Tenant) -> AbstractBaseUser:
    """A local viewer of acme, the member the actions are tried on."""
    user = get_user_model().objects.create_user(username="cole", password=PASSWORD, email="cole@example.com")
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.VIEWER)
    return user


@pytest.fixture
def provider_member(tenant: Tenant) -> AbstractBaseUser:
    user = get_user_model().objects.create_user(username="pia", password=None)
    OidcIdentity.objects.create(user=user, issuer="https://id.example.com", subject="s-1")
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.VIEWER)
    return user


def actions(user_id: int) -> list[tuple[str, dict[str, str]]]:
    base = "/console/acme/members"
    return [
        (f"{base}/add", {"kind": "new", "username": "newbie", "role": "viewer"}),
        (f"{base}/{user_id}/role", {"role": "manager"}),
        (f"{base}/{user_id}/password", {}),
        (f"{base}/{user_id}/remove", {}),
    ]


def state() -> list[Any]:
    users = list(get_user_model().objects.order_by("pk").values_list("username", "password"))
    return [users, list(Membership.objects.order_by("pk").values_list("user_id", "tenant_id", "role"))]


def roles_of(username: str) -> dict[str, str]:
    return dict(Membership.objects.filter(user__username=username).values_list("tenant__name", "role"))


def shown_password(response: Any) -> str:
    found = re.search(r"data-password>([^<]+)<", response.content.decode())
    assert found is not None
    return found.group(1)


def audit_actions(tenant: Tenant) -> list[tuple[str, str, str]]:
    return list(AuditEvent.objects.filter(tenant=tenant).order_by("pk").values_list("username", "action", "object_id"))


# --- the access checklist ----------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(colleague, anonymous_client: Client):
    response = anonymous_client.get("/console/acme/members/")
    assert response.status_code == 302 and response["Location"] == f"{SIGN_IN}?next=/console/acme/members/"
    before = state()
    for url, data in actions(colleague.pk):
        response = anonymous_client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith(SIGN_IN), url
    assert state() == before


def test_every_members_page_is_a_404_for_a_member_of_another_tenant(colleague, outsider_client: Client):
    before = state()
    assert outsider_client.get("/console/acme/members/").status_code == 404
    for url, data in actions(colleague.pk):
        assert outsider_client.post(url, data).status_code == 404, url
        assert outsider_client.get(url).status_code == 404, url
    assert state() == before


def test_a_viewer_sees_the_members_but_every_action_is_a_403(colleague, viewer_client: Client):
    page = viewer_client.get("/console/acme/members/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-member="cole"' in html and 'data-member="vic-viewer"' in html
    assert "Add a member" not in html and "Reset password" not in html
    before = state()
    for url, data in actions(colleague.pk):
        assert viewer_client.post(url, data).status_code == 403, url
    assert state() == before and not AuditEvent.objects.exists()


@pytest.mark.parametrize("persona", ["manager", "platform_admin"])
def test_managers_and_platform_admins_see_the_actions(persona: str, colleague, client_as: Callable[[str], Client]):
    html = client_as(persona).get("/console/acme/members/").content.decode()
    assert "Add a member" in html
    assert f'action="/console/acme/members/{colleague.pk}/role"' in html
    assert f'href="/console/acme/members/{colleague.pk}/password"' in html


def test_a_member_of_another_tenant_cannot_be_reached_through_this_one(manager_client: Client, other_tenant):
    stranger = get_user_model().objects.create_user(username="gus", password=PASSWORD)
    Membership.objects.create(user=stranger, tenant=other_tenant, role=Membership.Role.VIEWER)
    before = state()
    for url, data in actions(stranger.pk)[1:]:
        assert manager_client.post(url, data).status_code == 404, url
    assert state() == before


# --- the actions -------------------------------------------------------------------------------------------------


def test_a_manager_adds_a_new_local_user_who_signs_in_with_the_password_shown_once(manager_client: Client, tenant):
    response = manager_client.post(
        "/console/acme/members/add",
        {"kind": "new", "username": "nina", "email": "nina@example.com", "role": "manager"},
    )

    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    password = shown_password(response)
    nina = get_user_model().objects.get(username="nina")
    assert nina.email == "nina@example.com" and not nina.is_staff
    assert roles_of("nina") == {"acme": "manager"}
    assert password not in manager_client.get("/console/acme/members/").content.decode()
    browser = Client()
    assert browser.post(SIGN_IN, {"username": "nina", "password": password})["Location"].endswith("new-password")
    browser.post(f"{SIGN_IN}new-password", {"new_password1": "nina's own phrase", "new_password2": "nina's own phrase"})
    assert browser.get("/console/acme/members/").status_code == 200
    assert audit_actions(tenant) == [("mia-manager", "member.create", "nina")]


def test_adding_a_new_user_under_a_taken_name_changes_nobody(manager_client: Client, colleague):
    response = manager_client.post("/console/acme/members/add", {"kind": "new", "username": "cole", "role": "manager"})

    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert roles_of("cole") == {"acme": "viewer"}
    assert not AuditEvent.objects.exists()


def test_a_manager_adds_an_existing_local_user_of_another_tenant(manager_client: Client, tenant, other_tenant):
    gus = get_user_model().objects.create_user(username="gus", password=PASSWORD)
    Membership.objects.create(user=gus, tenant=other_tenant, role=Membership.Role.MANAGER)

    response = manager_client.post(
        "/console/acme/members/add", {"kind": "existing", "username": "gus", "role": "viewer"}
    )

    assert response.status_code == 302
    assert roles_of("gus") == {"acme": "viewer", "globex": "manager"}
    assert Client().login(username="gus", password=PASSWORD)  # the password is left alone
    assert audit_actions(tenant) == [("mia-manager", "member.add", "gus")]


@pytest.mark.parametrize(
    "username, message",
    [("nobody", "No user named"), ("pia", "provider"), ("pat-admin", "platform administrator"), ("cole", "already")],
)
def test_some_users_cannot_be_added_as_existing_users(
    username, message, manager_client: Client, colleague, provider_member, platform_admin_user, other_tenant
):
    Membership.objects.filter(user=provider_member).delete()
    before = state()

    response = manager_client.post(
        "/console/acme/members/add", {"kind": "existing", "username": username, "role": "manager"}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert state() == before


def test_an_account_of_the_django_admin_can_be_neither_added_nor_given_a_password_by_a_manager(
    manager_client: Client, tenant
):
    # Else a manager could add a staff account with no tenant, and then reset its password to take it over.
    staff = get_user_model().objects.create_user(username="stan", password=PASSWORD, is_staff=True)
    refused = manager_client.post(
        "/console/acme/members/add", {"kind": "existing", "username": "stan", "role": "viewer"}
    )
    Membership.objects.create(user=staff, tenant=tenant, role=Membership.Role.VIEWER)

    assert refused.status_code == 400 and "administration account" in refused.content.decode()
    assert manager_client.post(f"/console/acme/members/{staff.pk}/password").status_code == 403
    assert Client().login(username="stan", password=PASSWORD)


def test_a_manager_changes_a_role(manager_client: Client, colleague, tenant):
    response = manager_client.post(f"/console/acme/members/{colleague.pk}/role", {"role": "manager"})

    assert response.status_code == 302
    assert roles_of("cole") == {"acme": "manager"}
    event = AuditEvent.objects.get(tenant=tenant)
    assert (event.action, event.object_id, event.detail["role"], event.detail["was"]) == (
        "member.role",
        "cole",
        "manager",
        "viewer",
    )


def test_an_unknown_role_changes_nothing(manager_client: Client, colleague):
    manager_client.post(f"/console/acme/members/{colleague.pk}/role", {"role": "owner"})
    assert roles_of("cole") == {"acme": "viewer"} and not AuditEvent.objects.exists()


def test_a_manager_resets_a_password_after_confirming(manager_client: Client, colleague, tenant):
    confirm = manager_client.get(f"/console/acme/members/{colleague.pk}/password")
    assert confirm.status_code == 200 and "Reset the password" in confirm.content.decode()
    assert Client().login(username="cole", password=PASSWORD)

    response = manager_client.post(f"/console/acme/members/{colleague.pk}/password")

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    new = shown_password(response)
    assert not Client().login(username="cole", password=PASSWORD)
    assert Client().login(username="cole", password=new)
    assert PasswordChangeRequired.objects.filter(user=colleague).exists()  # cole chooses his own at sign-in
    assert audit_actions(tenant) == [("mia-manager", "member.password_reset", "cole")]


def test_a_manager_cannot_reset_the_password_of_someone_with_roles_they_do_not_manage(
    manager_client: Client, platform_admin_client: Client, colleague, other_tenant
):
    # Else the manager of one tenant could take over a member's access to another.
    Membership.objects.create(user=colleague, tenant=other_tenant, role=Membership.Role.MANAGER)

    assert manager_client.get(f"/console/acme/members/{colleague.pk}/password").status_code == 403
    assert manager_client.post(f"/console/acme/members/{colleague.pk}/password").status_code == 403
    assert Client().login(username="cole", password=PASSWORD)

    response = platform_admin_client.post(f"/console/acme/members/{colleague.pk}/password")
    assert response.status_code == 200 and Client().login(username="cole", password=shown_password(response))


def test_a_manager_removes_a_member_after_confirming(manager_client: Client, colleague, tenant):
    assert manager_client.get(f"/console/acme/members/{colleague.pk}/remove").status_code == 200

    response = manager_client.post(f"/console/acme/members/{colleague.pk}/remove")

    assert response.status_code == 302
    assert roles_of("cole") == {}
    assert get_user_model().objects.filter(username="cole").exists()
    assert audit_actions(tenant) == [("mia-manager", "member.remove", "cole")]
    assert Client().get("/console/").status_code == 302


def test_a_manager_who_leaves_the_tenant_is_sent_to_the_console_home(manager_client: Client, manager_user):
    response = manager_client.post(f"/console/acme/members/{manager_user.pk}/remove")
    assert response.status_code == 302 and response["Location"] == "/console/"


def test_provider_roles_are_shown_read_only_and_cannot_be_changed(manager_client: Client, provider_member):
    html = manager_client.get("/console/acme/members/").content.decode()
    row = html.split('data-member="pia"')[1].split("</tr>")[0]
    assert "data-provider-managed" in row and "<form" not in row and "password" not in row
    before = state()

    for url, data in actions(provider_member.pk)[1:]:
        assert manager_client.post(url, data).status_code == 403, url

    assert state() == before and not AuditEvent.objects.exists()


def test_the_members_pages_have_no_inline_script_or_style(manager_client: Client, colleague):
    for url in ["/console/acme/members/", f"/console/acme/members/{colleague.pk}/remove"]:
        html = manager_client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", html, re.IGNORECASE), url


def test_the_audit_trail_names_the_member_actions(manager_client: Client, colleague):
    manager_client.post(f"/console/acme/members/{colleague.pk}/role", {"role": "manager"})
    assert "Changed a member&#x27;s role" in manager_client.get("/console/acme/audit/").content.decode()


def test_with_local_sign_in_off_no_local_user_is_added(settings, manager_client: Client):
    settings.OIDC_ENABLED, settings.CONSOLE_LOCAL_LOGIN = True, False
    assert "Add a member" not in manager_client.get("/console/acme/members/").content.decode()

    response = manager_client.post("/console/acme/members/add", {"kind": "new", "username": "nina", "role": "viewer"})

    assert response.status_code == 400 and "Local sign-in is off" in response.content.decode()
    assert not get_user_model().objects.filter(username="nina").exists()

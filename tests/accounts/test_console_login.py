"""The console's own sign-in page at /console/login/: the password form, the provider's button when one is
configured, where it leads, and what the Django admin still is (platform administrators only)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client

from apps.accounts import oidc
from apps.accounts.oidc import ConsoleRoles
from apps.accounts.users import local_user_create, password_change_required
from apps.tenants.models import Membership, Tenant
from apps.tenants.services import tenant_create

LOGIN = "/console/login/"
PASSWORD = "a long enough pass phrase"


@pytest.fixture
def member(tenant: Tenant) -> Any:
    user = get_user_model().objects.create_user(username="ada", password=PASSWORD)
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.VIEWER)
    return user


def sign_in(client: Client, username: str, password: str, next_url: str = "") -> Any:
    return client.post(LOGIN, {"username": username, "password": password, "next": next_url})


@pytest.mark.django_db
def test_the_console_sends_anonymous_visitors_to_its_own_sign_in_page():
    response = Client().get("/console/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/console/"


@pytest.mark.django_db
def test_without_a_provider_the_sign_in_page_is_the_password_form():
    page = Client().get(LOGIN).content.decode()
    assert 'name="password"' in page and 'name="username"' in page
    assert 'id="oidc-sign-in"' not in page
    assert 'href="/static/console/console.css"' in page


@pytest.mark.django_db
def test_the_sign_in_page_offers_the_provider_when_one_is_configured(settings):
    settings.OIDC_ENABLED = True
    page = Client().get(f"{LOGIN}?next=/console/acme/jobs/").content.decode()
    assert 'id="oidc-sign-in"' in page
    assert 'href="/oidc/authenticate/?next=/console/acme/jobs/"' in page
    assert 'name="password"' in page


@pytest.mark.django_db
def test_with_local_sign_in_off_only_the_provider_is_offered_and_passwords_are_refused(settings, member):
    settings.OIDC_ENABLED, settings.CONSOLE_LOCAL_LOGIN = True, False
    client = Client()
    page = client.get(LOGIN).content.decode()
    assert 'id="oidc-sign-in"' in page and 'name="password"' not in page

    response = sign_in(client, "ada", PASSWORD)

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_member_signs_in_with_a_password_and_lands_where_they_were_going(member):
    client = Client()
    response = sign_in(client, "ada", PASSWORD, next_url="/console/acme/jobs/")

    assert response.status_code == 302 and response["Location"] == "/console/acme/jobs/"
    assert client.get("/console/acme/jobs/").status_code == 200


@pytest.mark.django_db
def test_without_a_destination_a_member_lands_in_the_console(member):
    response = sign_in(Client(), "ada", PASSWORD)
    assert response["Location"] == "/console/"


@pytest.mark.django_db
def test_it_never_sends_a_member_to_another_site_after_signing_in(member):
    response = sign_in(Client(), "ada", PASSWORD, next_url="https://evil.example.com/")
    assert response["Location"] == "/console/"


@pytest.mark.django_db
def test_a_wrong_password_signs_nobody_in_and_says_so(member):
    client = Client()
    response = sign_in(client, "ada", "not the password")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_deactivated_user_cannot_sign_in(member):
    get_user_model().objects.filter(pk=member.pk).update(is_active=False)
    client = Client()
    sign_in(client, "ada", PASSWORD)
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_signed_in_user_opening_the_sign_in_page_goes_to_the_console(member):
    client = Client()
    client.force_login(member)
    response = client.get(LOGIN)
    assert response.status_code == 302 and response["Location"] == "/console/"


@pytest.mark.django_db
def test_a_tenant_member_is_not_let_into_the_django_admin(member):
    client = Client()
    sign_in(client, "ada", PASSWORD)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_the_sign_in_page_has_no_inline_script_or_style(settings):
    # A strict Content-Security-Policy forbids them; everything comes from static/console/.
    settings.OIDC_ENABLED = True
    page = Client().get(LOGIN).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", page, re.IGNORECASE)


@pytest.mark.django_db
def test_a_local_session_signs_out_in_the_console_without_the_provider(member):
    client = Client()
    sign_in(client, "ada", PASSWORD)
    page = client.get("/console/acme/").content.decode()
    assert 'action="/admin/logout/"' in page

    client.post("/admin/logout/")

    assert client.get("/console/").status_code == 302


@pytest.mark.parametrize("name", ["login", "logout"])
def test_a_tenant_cannot_take_the_name_of_a_console_page(db: Any, name: str) -> None:
    with pytest.raises(ValidationError, match="reserved"):
        tenant_create(name=name)
    assert not Tenant.objects.exists()


# --- one-time passwords (create_user, the members page): the owner chooses their own before the session -------

NEW_PASSWORD = "a phrase of my own choosing"


@pytest.fixture
def newcomer(tenant: Tenant) -> tuple[Any, str]:
    issued = local_user_create(username="nina", roles=ConsoleRoles(tenants={"acme": "viewer"}))
    return issued.user, issued.password


def choose(client: Client, first: str, second: str | None = None) -> Any:
    return client.post(NEW_PASSWORD_PAGE, {"new_password1": first, "new_password2": second or first})


NEW_PASSWORD_PAGE = "/console/login/new-password"


def test_a_one_time_password_leads_to_choosing_one_with_no_session_until_then(newcomer):
    _, one_time = newcomer
    client = Client()

    response = sign_in(client, "nina", one_time, next_url="/console/acme/jobs/")

    assert response.status_code == 302 and response["Location"] == NEW_PASSWORD_PAGE
    assert "_auth_user_id" not in client.session
    assert client.get("/console/acme/").status_code == 302
    page = client.get(NEW_PASSWORD_PAGE)
    assert page.status_code == 200 and 'name="new_password1"' in page.content.decode()
    assert "no-store" in page["Cache-Control"]


def test_a_one_time_password_opens_no_session_through_the_django_admins_sign_in_either(db: Any):
    # A platform administrator given one (create_user --role platform_admin) could otherwise keep using it.
    issued = local_user_create(username="pam", roles=ConsoleRoles(platform_admin=True))
    client = Client()

    client.post("/admin/login/", {"username": "pam", "password": issued.password, "next": "/admin/"})

    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
    assert client.get("/console/").status_code == 302


def test_choosing_a_password_signs_in_and_the_one_time_password_stops_working(newcomer):
    user, one_time = newcomer
    client = Client()
    sign_in(client, "nina", one_time, next_url="/console/acme/jobs/")

    response = choose(client, NEW_PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/console/acme/jobs/"
    assert client.get("/console/acme/jobs/").status_code == 200
    assert not password_change_required(user=user)
    assert not Client().login(username="nina", password=one_time)
    assert sign_in(Client(), "nina", NEW_PASSWORD)["Location"] == "/console/"


@pytest.mark.parametrize(
    "first, second, message",
    [
        (NEW_PASSWORD, "something else entirely", "two password fields"),
        ("abc", None, "too short"),
        ("password123", None, "too common"),
        (None, None, "not the one you were given"),
    ],
)
def test_a_poor_choice_is_refused_and_signs_nobody_in(newcomer, first, second, message):
    user, one_time = newcomer
    client = Client()
    sign_in(client, "nina", one_time)

    response = choose(client, first or one_time, second)

    assert response.status_code == 200 and message in response.content.decode()
    assert "_auth_user_id" not in client.session and password_change_required(user=user)


def test_the_choice_must_follow_a_sign_in_with_the_one_time_password(newcomer):
    user, _ = newcomer
    response = choose(Client(), NEW_PASSWORD)
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert password_change_required(user=user)


def test_the_choice_expires_ten_minutes_after_the_sign_in(newcomer, monkeypatch):
    user, one_time = newcomer
    client = Client()
    sign_in(client, "nina", one_time)
    later = time.time() + 601
    monkeypatch.setattr(time, "time", lambda: later)

    response = choose(client, NEW_PASSWORD)

    assert response["Location"] == LOGIN and password_change_required(user=user)
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_never_reaches_the_choice(newcomer):
    client = Client()
    sign_in(client, "nina", "not the one-time password")
    assert choose(client, NEW_PASSWORD)["Location"] == LOGIN


def test_a_password_session_signs_out_without_a_trip_to_the_provider(settings, monkeypatch, member):
    # The sign-out button posts to the provider's logout when one is configured; a local session has none to end.
    settings.OIDC_ENABLED, settings.OIDC_RP_CLIENT_ID = True, "console"
    monkeypatch.setattr(oidc, "discovery", lambda: {"end_session_endpoint": "https://id.example.com/session/end"})
    client = Client()
    sign_in(client, "ada", PASSWORD)
    assert 'action="/oidc/logout/"' in client.get("/console/acme/").content.decode()

    response = client.post("/oidc/logout/")

    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/console/").status_code == 302


@pytest.mark.django_db
def test_a_sign_in_the_provider_refused_comes_back_to_the_sign_in_page(settings, monkeypatch):
    settings.OIDC_ENABLED = True
    monkeypatch.setattr(oidc, "discovery", dict)
    response = Client().get("/oidc/callback/", {"error": "access_denied"})
    assert response.status_code == 302 and response["Location"] == LOGIN


@pytest.mark.django_db
def test_the_admins_sign_in_page_points_console_users_to_theirs():
    page = Client().get("/admin/login/").content.decode()
    assert 'href="/console/login/"' in page

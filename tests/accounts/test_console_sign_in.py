"""Console users from the company's OpenID provider: roles from claims, matching on (issuer, sub), memberships
kept in line with the provider; the sign-in page and the first administrator of a fresh console."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, RequestFactory

from apps.accounts import oidc
from apps.accounts.models import OidcIdentity
from apps.accounts.oidc import ConsoleRoles, provider_logout_url, roles_from_claims, user_sign_in
from apps.tenants.models import Membership, Tenant

ISSUER = "https://id.example.com"


@pytest.mark.parametrize(
    "value, expected",
    [
        (["platform_admin"], ConsoleRoles(platform_admin=True)),
        (["acme:manager", "globex:viewer"], ConsoleRoles(tenants={"acme": "manager", "globex": "viewer"})),
        ({"acme": "viewer"}, ConsoleRoles(tenants={"acme": "viewer"})),
        ("acme:viewer", ConsoleRoles(tenants={"acme": "viewer"})),
        (["acme:viewer", "acme:manager", "acme:viewer"], ConsoleRoles(tenants={"acme": "manager"})),
        (["acme:owner", "acme", "", "globex:viewer"], ConsoleRoles(tenants={"globex": "viewer"})),
        (None, ConsoleRoles()),
        (42, ConsoleRoles()),
    ],
)
def test_it_reads_roles_from_the_configured_claim(value: Any, expected: ConsoleRoles) -> None:
    assert roles_from_claims({"ai_console_roles": value}) == expected


def test_the_roles_claim_and_the_admin_role_are_configurable(settings: Any) -> None:
    settings.OIDC_ROLES_CLAIM, settings.OIDC_PLATFORM_ADMIN_ROLE = "groups", "console-admins"
    claims = {"groups": ["console-admins", "acme:viewer"], "ai_console_roles": ["globex:manager"]}
    assert roles_from_claims(claims) == ConsoleRoles(platform_admin=True, tenants={"acme": "viewer"})


def claims(sub: str = "u-1", **extra: Any) -> dict[str, Any]:
    return {"sub": sub, "email": "ada@example.com", "given_name": "Ada", "family_name": "Lovelace", **extra}


def test_a_first_sign_in_creates_the_user_with_the_memberships_the_claims_give(tenant, other_tenant):
    user = user_sign_in(issuer=ISSUER, claims=claims(ai_console_roles=["acme:manager", "globex:viewer"]))

    assert (user.email, user.first_name, user.last_name) == ("ada@example.com", "Ada", "Lovelace")
    assert user.is_staff and not user.is_superuser and not user.has_usable_password()
    assert dict(Membership.objects.filter(user=user).values_list("tenant__name", "role")) == {
        "acme": "manager",
        "globex": "viewer",
    }
    assert OidcIdentity.objects.get(user=user).subject == "u-1"


def test_later_sign_ins_match_on_the_subject_and_follow_the_changed_claims(tenant, other_tenant):
    first = user_sign_in(issuer=ISSUER, claims=claims(ai_console_roles=["acme:manager", "globex:viewer"]))

    again = user_sign_in(issuer=ISSUER, claims=claims(email="ada@new.example.com", ai_console_roles=["acme:viewer"]))

    assert again.pk == first.pk
    assert again.email == "ada@new.example.com"
    assert dict(Membership.objects.filter(user=again).values_list("tenant__name", "role")) == {"acme": "viewer"}


def test_the_same_email_at_another_subject_is_another_user(tenant):
    first = user_sign_in(issuer=ISSUER, claims=claims("u-1"))
    second = user_sign_in(issuer=ISSUER, claims=claims("u-2"))
    third = user_sign_in(issuer="https://other.example.com", claims=claims("u-1"))

    assert len({first.pk, second.pk, third.pk}) == 3
    assert second.username != first.username != third.username


def test_a_platform_admin_is_a_superuser_and_losing_the_role_takes_it_away(tenant):
    admin = user_sign_in(issuer=ISSUER, claims=claims(ai_console_roles=["platform_admin"]))
    assert admin.is_superuser and admin.is_staff

    demoted = user_sign_in(issuer=ISSUER, claims=claims(ai_console_roles=[]))
    assert not demoted.is_superuser and not demoted.is_staff
    assert not Membership.objects.filter(user=demoted).exists()


def test_tenants_the_console_does_not_have_are_ignored(tenant):
    user = user_sign_in(issuer=ISSUER, claims=claims(ai_console_roles=["acme:viewer", "nosuch:manager"]))
    assert list(Membership.objects.filter(user=user).values_list("tenant__name", flat=True)) == ["acme"]
    assert not Tenant.objects.filter(name="nosuch").exists()


def test_logging_out_goes_through_the_providers_end_session_endpoint(settings, monkeypatch):
    settings.OIDC_RP_CLIENT_ID = "console"
    monkeypatch.setattr(oidc, "discovery", lambda: {"end_session_endpoint": f"{ISSUER}/session/end"})
    request = RequestFactory().post("/oidc/logout/")
    request.session = {"oidc_id_token": "the.id.token"}  # type: ignore[assignment]

    url = provider_logout_url(request)

    assert url.startswith(f"{ISSUER}/session/end?")
    assert "id_token_hint=the.id.token" in url
    assert "post_logout_redirect_uri=http%3A%2F%2Ftestserver%2F" in url


def test_without_an_end_session_endpoint_logging_out_returns_home(settings, monkeypatch):
    monkeypatch.setattr(oidc, "discovery", lambda: {})
    request = RequestFactory().post("/oidc/logout/")
    request.session = {}  # type: ignore[assignment]
    assert provider_logout_url(request) == settings.LOGOUT_REDIRECT_URL


@pytest.mark.django_db
def test_the_sign_in_page_offers_the_provider_when_one_is_configured(settings):
    settings.OIDC_ENABLED = True
    page = Client().get("/admin/login/").content.decode()
    assert 'id="oidc-sign-in"' in page and "/oidc/authenticate/" in page
    assert 'name="password"' in page

    settings.CONSOLE_LOCAL_LOGIN = False
    page = Client().get("/admin/login/").content.decode()
    assert 'id="oidc-sign-in"' in page and 'name="password"' not in page


@pytest.mark.django_db
def test_without_a_provider_the_sign_in_page_is_the_password_form(settings):
    page = Client().get("/admin/login/").content.decode()
    assert 'id="oidc-sign-in"' not in page and 'name="password"' in page


@pytest.mark.django_db
def test_a_fresh_console_gets_a_first_administrator_once(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    password = out.getvalue().split("password    ")[1].split()[0]
    assert Client().login(username="admin", password=password)

    again = StringIO()
    call_command("ensure_admin", stdout=again)
    assert again.getvalue() == ""
    assert get_user_model().objects.count() == 1


@pytest.mark.django_db
def test_no_local_administrator_is_made_when_local_sign_in_is_off(settings):
    settings.CONSOLE_LOCAL_LOGIN = False
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert out.getvalue() == "" and not get_user_model().objects.exists()


OIDC_BACKEND = "apps.accounts.oidc.ConsoleOidcBackend"


def test_a_deactivated_user_loses_a_session_opened_at_the_provider(settings, tenant):
    # Django's password backend drops an inactive user's session at the next request; so must the provider's.
    settings.AUTHENTICATION_BACKENDS = [OIDC_BACKEND, "django.contrib.auth.backends.ModelBackend"]
    user = user_sign_in(issuer=ISSUER, claims=claims(ai_console_roles=["acme:manager"]))
    browser = Client()
    browser.force_login(user, backend=OIDC_BACKEND)
    assert browser.get("/console/acme/").status_code == 200

    get_user_model().objects.filter(pk=user.pk).update(is_active=False)

    response = browser.get("/console/acme/")
    assert response.status_code == 302 and response["Location"].startswith("/console/login/")

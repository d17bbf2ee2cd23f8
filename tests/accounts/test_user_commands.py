"""`manage.py create_user` and `manage.py set_roles`: local console users and their roles without a provider."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from apps.accounts.models import OidcIdentity
from apps.tenants.models import Membership, Tenant


def run(command: str, *args: str, stdin: str | None = None, monkeypatch: Any = None) -> str:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command(command, *args, stdout=out)
    return out.getvalue()


def roles_of(username: str) -> dict[str, str]:
    return dict(Membership.objects.filter(user__username=username).values_list("tenant__name", "role"))


def test_create_user_prints_a_one_time_password_that_signs_in_at_the_console(tenant, other_tenant):
    output = run(
        "create_user", "ada", "--email", "ada@example.com", "--role", "manager:acme", "--role", "viewer:globex"
    )

    password = re.search(r"One-time password \(shown only now\): (\S+)", output)
    assert password is not None
    user = get_user_model().objects.get(username="ada")
    assert user.email == "ada@example.com" and not user.is_staff and not user.is_superuser
    assert roles_of("ada") == {"acme": "manager", "globex": "viewer"}
    client = Client()
    response = client.post("/console/login/", {"username": "ada", "password": password.group(1)})
    assert response["Location"] == "/console/login/new-password"  # one-time: ada chooses her own first
    new = {"new_password1": "ada's very own phrase", "new_password2": "ada's very own phrase"}
    assert client.post("/console/login/new-password", new).status_code == 302
    assert client.get("/console/acme/").status_code == 200


def test_create_user_takes_the_password_from_standard_input(tenant, monkeypatch):
    output = run(
        "create_user",
        "ada",
        "--role",
        "viewer:acme",
        "--password-stdin",
        stdin="correct horse battery\n",
        monkeypatch=monkeypatch,
    )

    assert "password" not in output.lower()
    client = Client()
    response = client.post("/console/login/", {"username": "ada", "password": "correct horse battery"})
    assert response["Location"] == "/console/"  # chosen by its owner: no change asked for


def test_create_user_refuses_a_weak_password_from_standard_input(tenant, monkeypatch):
    with pytest.raises(CommandError, match=r"too short|too common"):
        run("create_user", "ada", "--role", "viewer:acme", "--password-stdin", stdin="abc\n", monkeypatch=monkeypatch)
    assert not get_user_model().objects.filter(username="ada").exists()


def test_a_platform_admin_reaches_the_django_admin(db):
    output = run("create_user", "root", "--role", "platform_admin")

    user = get_user_model().objects.get(username="root")
    assert user.is_superuser and user.is_staff
    assert "platform administrator" in output


@pytest.mark.parametrize(
    "role, message",
    [
        ("owner:acme", "Unknown role"),
        ("manager:", "Unknown role"),
        ("manager:nosuch", "No tenant named nosuch"),
        ("admin", "Unknown role"),
    ],
)
def test_create_user_refuses_unknown_roles_and_tenants_and_creates_nobody(tenant, role, message):
    with pytest.raises(CommandError, match=message):
        run("create_user", "ada", "--role", role)
    assert not get_user_model().objects.exists()


def test_create_user_refuses_a_name_that_is_taken(tenant):
    run("create_user", "ada", "--role", "viewer:acme")
    with pytest.raises(CommandError, match="already exists"):
        run("create_user", "ada", "--role", "manager:acme")
    assert roles_of("ada") == {"acme": "viewer"}


def test_set_roles_replaces_every_role(tenant, other_tenant):
    run("create_user", "ada", "--role", "manager:acme", "--role", "platform_admin")

    output = run("set_roles", "ada", "--role", "viewer:globex")

    user = get_user_model().objects.get(username="ada")
    assert roles_of("ada") == {"globex": "viewer"}
    assert not user.is_superuser and not user.is_staff
    assert output.strip() == "ada is now: viewer of globex."


def test_of_two_roles_for_one_tenant_the_stronger_wins(tenant):
    run("create_user", "ada", "--role", "viewer:acme", "--role", "manager:acme", "--role", "viewer:acme")
    assert roles_of("ada") == {"acme": "manager"}


def test_set_roles_leaves_users_of_the_provider_to_the_provider(tenant):
    user = get_user_model().objects.create_user(username="pia")
    OidcIdentity.objects.create(user=user, issuer="https://id.example.com", subject="s-1")
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.VIEWER)

    with pytest.raises(CommandError, match="provider"):
        run("set_roles", "pia", "--role", "manager:acme")
    assert roles_of("pia") == {"acme": "viewer"}


def test_set_roles_names_a_missing_user(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run("set_roles", "nobody", "--role", "platform_admin")


def test_set_roles_refuses_an_unknown_tenant_and_changes_nothing(tenant: Tenant):
    run("create_user", "ada", "--role", "manager:acme")
    with pytest.raises(CommandError, match="No tenant named nosuch"):
        run("set_roles", "ada", "--role", "viewer:nosuch")
    assert roles_of("ada") == {"acme": "manager"}

"""Console personas, signed in through the session as a browser would be: a manager and a viewer of the tenant
(acme), an outsider who manages another tenant (globex), a platform admin (superuser, no memberships), and an
anonymous visitor. The tenants are the suite's `tenant` and `other_tenant` (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from apps.tenants.models import Membership, Tenant

SIGN_IN = "/console/login/"
PERSONAS = ("manager", "viewer", "outsider", "platform_admin")


@pytest.fixture
def make_console_user(db: Any) -> Callable[..., AbstractBaseUser]:
    """A console user with the given roles ({tenant: "manager" | "viewer"}), or a platform admin."""

    def make(username: str, roles: dict[Tenant, str] | None = None, *, superuser: bool = False) -> AbstractBaseUser:
        user = get_user_model().objects.create_user(
            username=username, password=None, is_staff=True, is_superuser=superuser
        )
        for tenant, role in (roles or {}).items():
            Membership.objects.create(user=user, tenant=tenant, role=role)
        return user

    return make


@pytest.fixture
def manager_user(make_console_user: Callable[..., AbstractBaseUser], tenant: Tenant) -> AbstractBaseUser:
    return make_console_user("mia-manager", {tenant: Membership.Role.MANAGER})


@pytest.fixture
def viewer_user(make_console_user: Callable[..., AbstractBaseUser], tenant: Tenant) -> AbstractBaseUser:
    return make_console_user("vic-viewer", {tenant: Membership.Role.VIEWER})


@pytest.fixture
def outsider_user(make_console_user: Callable[..., AbstractBaseUser], other_tenant: Tenant) -> AbstractBaseUser:
    """A manager, but of the other tenant only."""
    return make_console_user("otto-outsider", {other_tenant: Membership.Role.MANAGER})


@pytest.fixture
def platform_admin_user(make_console_user: Callable[..., AbstractBaseUser]) -> AbstractBaseUser:
    return make_console_user("pat-admin", superuser=True)


@pytest.fixture
def sign_in(db: Any) -> Callable[[AbstractBaseUser], Client]:
    """A new browser session signed in as `user`."""

    def signed_in(user: AbstractBaseUser) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return signed_in


@pytest.fixture
def manager_client(sign_in: Callable[[AbstractBaseUser], Client], manager_user: AbstractBaseUser) -> Client:
    return sign_in(manager_user)


@pytest.fixture
def viewer_client(sign_in: Callable[[AbstractBaseUser], Client], viewer_user: AbstractBaseUser) -> Client:
    return sign_in(viewer_user)


@pytest.fixture
def outsider_client(sign_in: Callable[[AbstractBaseUser], Client], outsider_user: AbstractBaseUser) -> Client:
    return sign_in(outsider_user)


@pytest.fixture
def platform_admin_client(
    sign_in: Callable[[AbstractBaseUser], Client], platform_admin_user: AbstractBaseUser
) -> Client:
    return sign_in(platform_admin_user)


@pytest.fixture
def anonymous_client() -> Client:
    return Client()


@pytest.fixture
def client_as(request: pytest.FixtureRequest) -> Callable[[str], Client]:
    """The signed-in client of a persona by name ("manager", "viewer", "outsider", "platform_admin",
    "anonymous"), for tests parametrized over personas."""

    def client_of(persona: str) -> Client:
        client: Client = request.getfixturevalue(f"{persona}_client")
        return client

    return client_of

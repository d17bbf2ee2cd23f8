"""Console and admin sign-in are limited per user name and per address (django-axes, at the authentication level):
after too many failures, 429 with Retry-After and a page that says what happened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import Client, RequestFactory

from tests.test_settings import load_base_settings

SIGN_IN_PAGES = ["/console/login/", "/admin/login/"]
PASSWORD = "correct horse battery staple"
LIMIT = 3


@pytest.fixture(params=SIGN_IN_PAGES)
def sign_in_page(request: pytest.FixtureRequest) -> str:
    """Every test runs against both sign-in forms: the console's and the Django admin's."""
    return str(request.param)


@pytest.fixture(autouse=True)
def sign_in_limits(settings: Any) -> None:
    # The suite runs with django-axes off (see config/settings/test.py); these tests are about it.
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = LIMIT


@pytest.fixture
def users(db: Any) -> None:
    for name in ("alice", "bob"):
        get_user_model().objects.create_user(username=name, password=PASSWORD, is_staff=True)


SignIn = Callable[..., Any]


@pytest.fixture
def sign_in(sign_in_page: str) -> SignIn:
    def post(username: str, password: str, address: str = "192.0.2.1") -> Any:
        form = {"username": username, "password": password, "next": "/console/"}
        return Client(REMOTE_ADDR=address).post(sign_in_page, form)

    return post


def _signed_in(response: Any) -> bool:
    return response.status_code == 302 and response["Location"] == "/console/"


def _assert_locked_out(response: Any, settings: Any) -> None:
    assert response.status_code == 429
    assert response["Retry-After"] == str(settings.SIGN_IN_LOCKOUT_SECONDS)
    page = response.content.decode()
    assert "Too many failed sign-in attempts" in page
    assert f"Try again in {settings.SIGN_IN_LOCKOUT_SECONDS // 60} minutes" in page
    assert "sessionid" not in response.cookies


def test_a_right_password_signs_in_below_the_limit(sign_in: SignIn, users: None) -> None:
    for _ in range(LIMIT - 1):
        assert sign_in("alice", "wrong").status_code == 200

    assert _signed_in(sign_in("alice", PASSWORD))


def test_it_answers_429_with_retry_after_once_a_user_name_is_over_the_failure_limit(
    sign_in: SignIn, users: None, settings: Any
) -> None:
    for _ in range(LIMIT):
        sign_in("alice", "wrong")

    _assert_locked_out(sign_in("alice", PASSWORD), settings)


def test_a_locked_out_user_name_stays_locked_from_another_address(sign_in: SignIn, users: None, settings: Any) -> None:
    for n in range(LIMIT):
        sign_in("alice", "wrong", address=f"192.0.2.{n + 10}")

    _assert_locked_out(sign_in("alice", PASSWORD, address="198.51.100.7"), settings)
    assert _signed_in(sign_in("bob", PASSWORD, address="198.51.100.7"))


def test_it_answers_429_once_an_address_is_over_the_failure_limit_whatever_the_user_names(
    sign_in: SignIn, users: None, settings: Any
) -> None:
    for n in range(LIMIT):
        sign_in(f"guess{n}", "wrong", address="192.0.2.1")

    _assert_locked_out(sign_in("bob", PASSWORD, address="192.0.2.1"), settings)
    assert _signed_in(sign_in("bob", PASSWORD, address="198.51.100.7"))


def test_the_lockout_holds_at_the_authentication_level_whatever_the_sign_in_form(sign_in: SignIn, users: None) -> None:
    for _ in range(LIMIT):
        sign_in("alice", "wrong")
    # Any view that signs people in (the console's own sign-in page included) authenticates the same way.
    request = RequestFactory().post("/console/login/", REMOTE_ADDR="198.51.100.7")

    assert authenticate(request, username="alice", password=PASSWORD) is None


def test_the_limit_and_the_lockout_follow_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SIGN_IN_FAILURE_LIMIT", "SIGN_IN_LOCKOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    defaults = load_base_settings(monkeypatch, tmp_path)
    chosen = load_base_settings(monkeypatch, tmp_path, SIGN_IN_FAILURE_LIMIT="8", SIGN_IN_LOCKOUT_SECONDS="120")

    assert (defaults["AXES_FAILURE_LIMIT"], defaults["AXES_COOLOFF_TIME"].total_seconds()) == (5, 900)
    assert (chosen["AXES_FAILURE_LIMIT"], chosen["AXES_COOLOFF_TIME"].total_seconds()) == (8, 120)

"""`manage.py ensure_admin` (run by every `make run`): the first administrator of a console with no superuser,
under a free username, never by changing an existing user; its sign-in kept in a file only its owner can read."""

from __future__ import annotations

import stat
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from apps.tenants.models import Membership, Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings: Any, tmp_path: Path) -> Path:
    # Never the checkout's var/: a console served from it keeps its own first-admin.txt there.
    settings.VAR_DIR = tmp_path
    return tmp_path


def ensure_admin(*arguments: str) -> str:
    out = StringIO()
    call_command("ensure_admin", *arguments, stdout=out)
    return out.getvalue()


def sign_in_of(text: str) -> tuple[str, str]:
    fields = dict(line.split(None, 1) for line in text.splitlines() if line.startswith("  ") and "    " in line)
    return fields["username"].strip(), fields["password"].strip()


def test_a_fresh_console_gets_an_administrator_named_admin_who_can_sign_in(var_dir: Path) -> None:
    printed = ensure_admin("--url", "http://127.0.0.1:8001/console/login/")

    username, password = sign_in_of(printed)
    assert username == "admin"
    assert Client().login(username="admin", password=password)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.is_active
    assert "sign in at  http://127.0.0.1:8001/console/login/" in printed


def test_the_sign_in_is_written_to_a_file_only_its_owner_can_read(var_dir: Path) -> None:
    printed = ensure_admin()

    written = (var_dir / "first-admin.txt").read_text()
    assert sign_in_of(written) == sign_in_of(printed)
    assert stat.S_IMODE((var_dir / "first-admin.txt").stat().st_mode) == 0o600
    assert f"Also written to {var_dir / 'first-admin.txt'}" in printed


def test_a_file_left_readable_by_others_is_tightened_when_rewritten(var_dir: Path) -> None:
    stale = var_dir / "first-admin.txt"
    stale.write_text("an administrator of a deleted database\n")
    stale.chmod(0o644)

    ensure_admin()

    assert stat.S_IMODE(stale.stat().st_mode) == 0o600
    assert "deleted database" not in stale.read_text()


def test_an_existing_user_named_admin_is_left_untouched(var_dir: Path) -> None:
    # A provider's viewer who happens to be called "admin" must not become a superuser with a new password.
    users = get_user_model().objects
    viewer = users.create_user(username="admin", password="viewer-password")
    Membership.objects.create(user=viewer, tenant=Tenant.objects.create(name="acme"), role=Membership.Role.VIEWER)
    before = users.filter(pk=viewer.pk).values().get()

    printed = ensure_admin()

    assert users.filter(pk=viewer.pk).values().get() == before
    assert Client().login(username="admin", password="viewer-password")
    username, password = sign_in_of(printed)
    assert username == "admin-2"
    assert users.get(username="admin-2").is_superuser
    assert Client().login(username="admin-2", password=password)


def test_the_first_free_name_is_chosen_whatever_the_case(var_dir: Path) -> None:
    users = get_user_model().objects
    users.create_user(username="Admin")
    users.create_user(username="admin-2")

    assert sign_in_of(ensure_admin())[0] == "admin-3"


def test_no_administrator_is_made_when_a_superuser_exists(var_dir: Path) -> None:
    users = get_user_model().objects
    users.create_superuser(username="root", email="", password="root-password")

    assert ensure_admin() == ""
    assert list(users.values_list("username", flat=True)) == ["root"]
    assert not (var_dir / "first-admin.txt").exists()


def test_a_superuser_who_signs_in_at_the_provider_is_enough(var_dir: Path) -> None:
    users = get_user_model().objects
    provider_admin = users.create_user(username="ops", is_superuser=True, is_staff=True)
    provider_admin.set_unusable_password()
    provider_admin.save()

    assert ensure_admin() == ""
    assert users.count() == 1


def test_a_second_run_makes_no_second_administrator(var_dir: Path) -> None:
    first = ensure_admin()

    assert ensure_admin() == ""
    assert get_user_model().objects.count() == 1
    assert sign_in_of((var_dir / "first-admin.txt").read_text()) == sign_in_of(first)


def test_a_deactivated_superuser_does_not_count(var_dir: Path) -> None:
    get_user_model().objects.create_superuser(username="admin", email="", password="x", is_active=False)

    username, _ = sign_in_of(ensure_admin())

    assert username == "admin-2"
    assert not get_user_model().objects.get(username="admin").is_active


def test_without_a_url_it_names_the_port_make_run_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.delenv("HOST", raising=False)

    assert "sign in at  http://127.0.0.1:8123/console/login/" in ensure_admin()

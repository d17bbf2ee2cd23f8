"""`manage.py create_tenant NAME`."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.tenants.models import Tenant


def create_tenant(*args: str) -> str:
    out = StringIO()
    call_command("create_tenant", *args, stdout=out)
    return out.getvalue()


def test_it_creates_the_tenant(db: Any) -> None:
    output = create_tenant("acme")

    assert list(Tenant.objects.values_list("name", flat=True)) == ["acme"]
    assert output.strip() == "Created tenant acme"


@pytest.mark.parametrize("name", ["abc", "a12", "abcdefghijklmnop", "shop2025"])
def test_it_accepts_names_of_3_to_16_lowercase_letters_and_digits_starting_with_a_letter(db: Any, name: str) -> None:
    create_tenant(name)

    assert Tenant.objects.get().name == name


@pytest.mark.parametrize(
    "name",
    [
        "ab",  # too short
        "abcdefghijklmnopq",  # 17 characters
        "Acme",
        "ACME",
        "1acme",
        "ac-me",
        "ac_me",
        "ac me",
        " acme",
        "acme ",
        "acme\n",
        "acmé",
    ],
)
def test_it_refuses_an_invalid_name_and_creates_nothing(db: Any, name: str) -> None:
    with pytest.raises(CommandError) as raised:
        create_tenant(name)

    assert "3-16 lowercase letters and digits" in str(raised.value)
    assert Tenant.objects.count() == 0


def test_it_refuses_an_empty_name_and_creates_nothing(db: Any) -> None:
    with pytest.raises(CommandError, match="cannot be blank"):
        create_tenant("")

    assert Tenant.objects.count() == 0


def test_it_refuses_a_name_that_is_taken_with_a_clear_error(tenant: Tenant) -> None:
    with pytest.raises(CommandError) as raised:
        create_tenant("acme")

    assert "already exists" in str(raised.value)
    assert list(Tenant.objects.values_list("name", flat=True)) == ["acme"]


def test_it_needs_a_name(db: Any) -> None:
    with pytest.raises(CommandError, match="name"):
        call_command("create_tenant")

    assert Tenant.objects.count() == 0

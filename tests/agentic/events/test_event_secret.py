"""A tenant's commerce event secret: `manage.py event_secret TENANT [--rotate]`, stored encrypted, the old one
honoured for a grace period after a rotation, and never written to a log."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.agentic.events import selectors
from apps.agentic.events.services import event_secret_get, event_secret_rotate
from apps.agentic.models import EventSecret, LogMessage
from apps.core.timefmt import now_ms
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.agentic.events.conftest import ORDER_CREATED, Sender, commerce_trigger, order_event, subscribe

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("event_secret", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def printed_secret(*args: str) -> str:
    out, _ = run(*args)
    printed = json.loads(out)
    assert list(printed) == ["secret"]
    secret: str = printed["secret"]
    return secret


def test_the_command_prints_the_secret_as_json_and_makes_it_once(tenant: Tenant) -> None:
    first = printed_secret("acme")

    assert first.startswith("whsec_")
    assert printed_secret("acme") == first
    assert EventSecret.objects.filter(tenant=tenant).count() == 1


def test_the_secret_is_stored_encrypted(tenant: Tenant) -> None:
    secret = printed_secret("acme")

    row = EventSecret.objects.get(tenant=tenant)
    assert secret not in row.encrypted_secret
    assert secret.removeprefix("whsec_") not in row.encrypted_secret


def test_each_tenant_has_a_secret_of_its_own(tenant: Tenant, other_tenant: Tenant) -> None:
    assert printed_secret("acme") != printed_secret("globex")


def test_rotate_prints_a_new_secret_and_says_how_long_the_old_one_works(tenant: Tenant, settings: Any) -> None:
    settings.EVENT_SECRET_GRACE_SECONDS = 3600
    old = printed_secret("acme")

    out, err = run("acme", "--rotate")

    new = json.loads(out)["secret"]
    assert new.startswith("whsec_") and new != old
    assert printed_secret("acme") == new
    assert err.strip() == "The previous secret of acme keeps working for 3600 s."
    assert old not in err and new not in err


def test_rotate_of_a_tenant_without_a_secret_makes_its_first(tenant: Tenant) -> None:
    secret = printed_secret("acme", "--rotate")

    assert selectors.event_secrets_valid(tenant=tenant) == [secret]


def test_an_unknown_tenant_is_an_error(db: Any) -> None:
    with pytest.raises(CommandError, match="No tenant named 'nosuch'"):
        run("nosuch")


def test_a_secret_no_configured_key_opens_must_be_rotated(tenant: Tenant) -> None:
    EventSecret.objects.create(tenant=tenant, encrypted_secret="gAAAAAsealed-under-a-key-long-gone")

    with pytest.raises(CommandError, match=r"opens with none of TOKEN_ENCRYPTION_KEYS.*--rotate"):
        run("acme")
    assert printed_secret("acme", "--rotate").startswith("whsec_")


# --- the grace period after a rotation --------------------------------------------------------------------------


@pytest.fixture
def rotated(tenant: Tenant, settings: Any) -> tuple[str, str]:
    """(old, new): the tenant's secret rotated a moment ago, with a grace of one hour."""
    settings.EVENT_SECRET_GRACE_SECONDS = 3600
    subscribe(tenant, "notifier", commerce_trigger(ORDER_CREATED))
    old = event_secret_get(tenant=tenant)
    return old, event_secret_rotate(tenant=tenant)


def later(monkeypatch: Any, seconds: int) -> None:
    """The secrets are read as if `seconds` had passed."""
    moment = now_ms() + timedelta(seconds=seconds)
    monkeypatch.setattr(selectors, "now_ms", lambda: moment)


def test_within_the_grace_both_the_old_and_the_new_secret_are_taken(rotated: tuple[str, str], monkeypatch: Any) -> None:
    old, new = rotated
    later(monkeypatch, 3590)

    assert Sender(old).post(order_event()).status_code == 202
    assert Sender(new).post(order_event()).status_code == 202


def test_after_the_grace_only_the_new_secret_is_taken(rotated: tuple[str, str], monkeypatch: Any) -> None:
    old, new = rotated
    later(monkeypatch, 3610)

    assert Sender(old).post(order_event()).status_code == 401
    assert Sender(new).post(order_event()).status_code == 202


def test_without_a_grace_the_old_secret_stops_at_once(tenant: Tenant, settings: Any) -> None:
    settings.EVENT_SECRET_GRACE_SECONDS = 0
    old = event_secret_get(tenant=tenant)
    new = event_secret_rotate(tenant=tenant)

    assert Sender(old).post(order_event()).status_code == 401
    assert Sender(new).post(order_event()).status_code == 202


def test_a_second_rotation_ends_the_grace_of_the_first_secret(rotated: tuple[str, str], tenant: Tenant) -> None:
    first, second = rotated

    third = event_secret_rotate(tenant=tenant)

    assert Sender(first).post(order_event()).status_code == 401
    assert Sender(second).post(order_event()).status_code == 202
    assert Sender(third).post(order_event()).status_code == 202


# --- never in a log ---------------------------------------------------------------------------------------------


def test_the_secret_is_in_no_log_line_job_or_transcript(
    tenant: Tenant, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], settings: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    settings.EVENT_SECRET_GRACE_SECONDS = 0
    subscribe(tenant, "notifier", commerce_trigger(ORDER_CREATED))
    old = printed_secret("acme")
    new = printed_secret("acme", "--rotate")
    sender = Sender(new)

    sender.post(order_event())  # taken
    sender.post(order_event(), secret=old)  # refused: the old secret, rotated without a grace
    Sender("whsec_" + "B" * 43 + "=").post(order_event())  # refused: wrong secret
    Sender(new, tenant="nosuch").post(order_event())  # refused: no such tenant
    EventSecret.objects.filter(tenant=tenant).update(encrypted_secret="gAAAAAsealed-under-a-key-long-gone")
    sender.post(order_event())  # refused: the stored secret cannot be read, which is logged

    logged = caplog.text + capsys.readouterr().err
    assert "opens with none of TOKEN_ENCRYPTION_KEYS" in logged  # the log was captured at all
    written = [
        logged,
        *Job.objects.values_list("message", flat=True),
        json.dumps(list(Job.objects.values_list("payload", flat=True))),
        *LogMessage.objects.values_list("message", flat=True),
    ]
    for secret in (old, new):
        for text in written:
            assert secret not in (text or "")
            assert secret.removeprefix("whsec_") not in (text or "")

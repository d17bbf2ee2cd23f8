"""The audit trail moved from the console app to apps/audit without touching its table: rows written before the
move are read after it, and the model keeps its one content type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.audit.models import AuditEvent
from apps.tenants.models import Tenant

# Migrating the console back alone would leave the audit app holding the model too: both go back.
BEFORE: list[tuple[str, str | None]] = [("console", "0004_agent_run_and_event_audit_actions"), ("audit", None)]
AFTER: list[tuple[str, str | None]] = [
    ("console", "0005_audit_trail_to_audit_app"),
    ("audit", "0001_audit_trail_from_console"),
]


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh one reads the state the migration left


@pytest.fixture
def before_the_move(transactional_db: None) -> Iterator[MigrationExecutor]:
    try:
        yield _migrate(BEFORE)
    finally:
        _migrate(AFTER)


def test_a_row_written_while_the_console_owned_the_trail_is_read_from_the_audit_app(before_the_move):
    old_apps = before_the_move.loader.project_state([BEFORE[0]]).apps
    tenant = old_apps.get_model("tenants", "Tenant").objects.create(name="acme")
    old_apps.get_model("console", "AuditEvent").objects.create(
        username="ann", tenant=tenant, action="job.delete", object_id="j1", detail={"n": 1}
    )

    _migrate(AFTER)

    event = AuditEvent.objects.get()
    assert (event.username, event.action, event.object_id, event.detail) == ("ann", "job.delete", "j1", {"n": 1})
    assert event.tenant == Tenant.objects.get(name="acme")
    assert AuditEvent._meta.db_table == "console_auditevent"


def test_the_model_keeps_one_content_type_which_names_the_audit_app(before_the_move):
    assert ContentType.objects.filter(model="auditevent").values_list("app_label", flat=True).get() == "console"

    _migrate(AFTER)

    assert ContentType.objects.filter(model="auditevent").values_list("app_label", flat=True).get() == "audit"

"""The connection health check: skipped for a connection used a moment ago, done for one that sat idle, and done
every time with DATABASE_HEALTH_CHECK_IDLE_SECONDS=0."""

from __future__ import annotations

import time
from typing import Any, cast

import pytest
from django.db import DatabaseError
from django.db import connection as default_connection

from apps.core.postgresql.base import DatabaseWrapper
from tests.core.test_budget import on_postgresql

connection = cast(DatabaseWrapper, default_connection)

pytestmark = [pytest.mark.django_db, on_postgresql]


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each health check the connection makes (`SELECT 1` in is_usable), with its answer."""
    made: list[bool] = []
    real = connection.is_usable

    def counted() -> bool:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(connection, "is_usable", counted)
    return made


def _next_request_uses_the_connection() -> None:
    # What Django does between two requests on a reused connection: the next one's first query checks it first.
    connection.health_check_done = False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")


def test_a_connection_used_a_moment_ago_is_not_checked(checks: list[bool], settings: Any) -> None:
    settings.DATABASE_HEALTH_CHECK_IDLE_SECONDS = 5
    _next_request_uses_the_connection()

    _next_request_uses_the_connection()

    assert checks == []


def test_a_connection_idle_longer_is_checked_before_use(checks: list[bool], settings: Any) -> None:
    settings.DATABASE_HEALTH_CHECK_IDLE_SECONDS = 5
    _next_request_uses_the_connection()
    connection.used_at = time.monotonic() - 6

    _next_request_uses_the_connection()

    assert checks == [True]


def test_with_no_idle_time_every_request_checks(checks: list[bool], settings: Any) -> None:
    settings.DATABASE_HEALTH_CHECK_IDLE_SECONDS = 0

    _next_request_uses_the_connection()
    _next_request_uses_the_connection()

    assert checks == [True, True]


def test_a_failed_query_does_not_count_as_use() -> None:
    idle_since = time.monotonic() - 6
    connection.used_at = idle_since

    def failing(*args: Any) -> None:
        raise DatabaseError("server closed the connection unexpectedly")

    with pytest.raises(DatabaseError):
        connection._around_query(failing, "SELECT 2", None, False, {})

    assert connection.used_at == idle_since

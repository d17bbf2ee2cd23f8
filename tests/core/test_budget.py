"""The read budget (apps/core/budget.py): a query running past it is cancelled by the database.

The tests run on both databases the suite supports: PostgreSQL cancels through `statement_timeout`, SQLite
through its progress handler. Those about what `SET LOCAL` leaves on a reused connection are PostgreSQL's own;
they run only there (CI runs the suite on PostgreSQL, so they always run in CI).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection, transaction

from apps.core.budget import QueryTimeout, statement_budget

# Seconds of work on either database: PostgreSQL sleeps; SQLite counts to a hundred million.
SLOW_SQL = {
    "postgresql": "SELECT pg_sleep(3)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) "
    "SELECT count(*) FROM c",
}
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="statement_timeout is PostgreSQL's; CI runs the suite on PostgreSQL, where this runs",
)


def run_slow_query() -> None:
    with connection.cursor() as cursor:
        cursor.execute(SLOW_SQL[connection.vendor])
        cursor.fetchall()


def slow_down(monkeypatch: pytest.MonkeyPatch, settings: Any, module: object, selector: str) -> None:
    """`module.selector` runs a query of seconds, as a heavy filter over a big table would, under an API read budget
    of 0.2 s."""
    settings.API_STATEMENT_TIMEOUT_MS = 200

    def slow(**kwargs: Any) -> int:
        run_slow_query()
        return 0

    monkeypatch.setattr(module, selector, slow)


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        value: str = cursor.fetchone()[0]
    return value


@pytest.mark.django_db
def test_a_query_running_past_the_budget_is_cancelled_with_query_timeout():
    started = time.monotonic()

    with pytest.raises(QueryTimeout) as raised, statement_budget(100):
        run_slow_query()

    assert time.monotonic() - started < 2
    assert raised.value.milliseconds == 100
    assert raised.value.seconds == "0.1"


@pytest.mark.django_db
def test_quick_queries_run_normally_within_the_budget_and_the_connection_stays_usable():
    with statement_budget(100), pytest.raises(QueryTimeout), statement_budget(50):
        run_slow_query()

    with statement_budget(2000), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@pytest.mark.django_db
def test_a_budget_of_zero_sets_no_limit(monkeypatch):
    monkeypatch.setitem(SLOW_SQL, "postgresql", "SELECT pg_sleep(0.2)")
    monkeypatch.setitem(SLOW_SQL, "sqlite", SLOW_SQL["sqlite"].replace("100000000", "300000"))

    with statement_budget(0):
        run_slow_query()


@pytest.mark.django_db
def test_the_budget_ends_with_its_block(monkeypatch):
    with statement_budget(50):
        pass
    time.sleep(0.1)  # past the block's deadline: a budget left behind would cancel the next query
    monkeypatch.setitem(SLOW_SQL, "postgresql", "SELECT pg_sleep(0.2)")
    monkeypatch.setitem(SLOW_SQL, "sqlite", SLOW_SQL["sqlite"].replace("100000000", "300000"))

    run_slow_query()


@on_postgresql
@pytest.mark.django_db
def test_inside_an_outer_transaction_the_timeout_is_given_back_after_the_block():
    before = statement_timeout()

    with statement_budget(1234):
        assert statement_timeout() == "1234ms"

    assert statement_timeout() == before


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_reused_connection_keeps_no_timeout_from_a_budgeted_request():
    before = statement_timeout()
    with statement_budget(1234):
        assert not connection.in_atomic_block  # no transaction of its own: the session holds the timeout
        assert statement_timeout() == "1234ms"

    with pytest.raises(QueryTimeout), statement_budget(50):
        run_slow_query()

    assert statement_timeout() == before
    with transaction.atomic():
        assert statement_timeout() == before


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_blocks_with_the_same_budget_one_after_another_set_the_session_once():
    """The API's requests all run under one budget: the second and later ones on a connection send no SET."""
    with statement_budget(1234):
        statement_timeout()
    changes = connection.timeout_changes

    for _ in range(3):
        with statement_budget(1234), connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    assert connection.timeout_changes == changes
    with statement_budget(1234):
        assert statement_timeout() == "1234ms"


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_timeout_set_in_a_rolled_back_transaction_is_set_again():
    """PostgreSQL undoes a SET made in a transaction that rolls back: the backend must not believe it holds."""
    before = statement_timeout()

    with pytest.raises(ZeroDivisionError), transaction.atomic(), statement_budget(1234):
        assert statement_timeout() == "1234ms"
        raise ZeroDivisionError

    with statement_budget(1234):
        assert statement_timeout() == "1234ms"
    assert statement_timeout() == before


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_timeout_set_in_a_rolled_back_savepoint_is_set_again():
    with transaction.atomic():
        with pytest.raises(ZeroDivisionError), transaction.atomic(), statement_budget(1234):
            assert statement_timeout() == "1234ms"
            raise ZeroDivisionError
        with statement_budget(1234):
            assert statement_timeout() == "1234ms"


@pytest.mark.django_db
def test_an_inner_budget_counts_and_the_outer_one_holds_again_after_it():
    started = time.monotonic()
    with pytest.raises(QueryTimeout) as outer, statement_budget(100):
        with pytest.raises(QueryTimeout) as inner, statement_budget(50):
            run_slow_query()
        with statement_budget(5000), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        run_slow_query()

    assert inner.value.milliseconds == 50
    assert outer.value.milliseconds == 100
    assert time.monotonic() - started < 2


def test_a_budget_opens_no_connection():
    """No database access is allowed here: a request that makes no query (an unknown API path) needs none."""
    with statement_budget(100):
        pass


@pytest.mark.django_db(transaction=True)
def test_a_connection_opened_within_a_budget_is_held_to_it():
    connection.close()
    started = time.monotonic()

    with pytest.raises(QueryTimeout), statement_budget(100):
        run_slow_query()

    assert time.monotonic() - started < 2

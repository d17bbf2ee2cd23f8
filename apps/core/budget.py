"""A time budget for the reads a client can make expensive: lists and searches whose filter, sort and total the
client chooses. One request must not keep the database busy for minutes.

On PostgreSQL the budget is `statement_timeout`, which the backend (apps.core.postgresql) gives the block's queries
and takes back from the first query after it; a connection reused by the next request (CONN_MAX_AGE) or by a worker
never runs a query with a budget that is not its own. SQLite has no statement timeout; there sqlite3's progress
handler interrupts a query that runs past the deadline, which has the same effect for a single process.

A query cancelled for running past the budget raises QueryTimeout where it ran, so that the API's and the console's
error handling turn it into a 503 whichever layer opened the budget. Budgets nest: the innermost one counts.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

# VM instructions between two looks at the clock on SQLite: about a millisecond of work.
_SQLITE_CHECK_EVERY = 10_000


class QueryTimeout(Exception):
    """A read ran out of its budget and was cancelled by the database."""

    def __init__(self, milliseconds: int) -> None:
        super().__init__(f"The query was stopped after {milliseconds} ms")
        self.milliseconds = milliseconds

    @property
    def seconds(self) -> str:
        return f"{self.milliseconds / 1000:g}"


@contextmanager
def statement_budget(milliseconds: int, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block's queries with at most `milliseconds` each (0: the budget around it, if any); a query
    cancelled for running longer raises QueryTimeout."""
    connection = connections[using]
    if milliseconds <= 0:
        yield
        return
    limit: AbstractContextManager[Any] = nullcontext()
    if connection.vendor == "postgresql":
        limit = connection.statement_timeout(milliseconds)  # type: ignore[attr-defined]  # apps.core.postgresql
    elif connection.vendor == "sqlite":
        limit = _sqlite_deadline(connection, time.monotonic() + milliseconds / 1000)
    # Within a transaction, a cancelled query would abort it all: the block gets a savepoint, rolled back instead.
    savepoint: AbstractContextManager[Any] = (
        transaction.atomic(using=using) if connection.in_atomic_block else nullcontext()
    )
    with limit, savepoint, connection.execute_wrapper(partial(_cancelled_as_timeout, milliseconds)):
        yield


def _cancelled_as_timeout(
    milliseconds: int, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    vendor = context["connection"].vendor
    if vendor == "sqlite":
        _sqlite_watch(context["connection"])  # opened within the budget: the deadline holds from its first query
    try:
        return execute(sql, params, many, context)
    except OperationalError as exc:
        if _is_cancellation(exc, vendor):
            raise QueryTimeout(milliseconds) from exc
        raise


def _is_cancellation(exc: OperationalError, vendor: str) -> bool:
    if vendor == "sqlite":
        return "interrupted" in str(exc)  # stopped by the progress handler
    if vendor != "postgresql":
        return False
    from psycopg.errors import QueryCanceled  # only installed where PostgreSQL is used

    return isinstance(exc.__cause__, QueryCanceled)


# The deadline of the innermost budget of each SQLite connection, which its progress handler enforces. The handler
# is installed once the connection is open (a budget opens none: a request that makes no query needs none).
_sqlite_deadlines: weakref.WeakKeyDictionary[BaseDatabaseWrapper, float] = weakref.WeakKeyDictionary()


@contextmanager
def _sqlite_deadline(connection: BaseDatabaseWrapper, deadline: float) -> Iterator[None]:
    outer = _sqlite_deadlines.get(connection)
    _sqlite_deadlines[connection] = deadline
    _sqlite_watch(connection)
    try:
        yield
    finally:
        if outer is None:
            _sqlite_deadlines.pop(connection, None)
        else:
            _sqlite_deadlines[connection] = outer
        _sqlite_watch(connection)


def _sqlite_watch(connection: BaseDatabaseWrapper) -> None:
    """Give the open connection's progress handler the current deadline (none outside any budget)."""
    raw = connection.connection
    if raw is None:
        return
    deadline = _sqlite_deadlines.get(connection)
    if deadline is None:
        raw.set_progress_handler(None, 0)
        return
    # A non-zero answer makes SQLite abandon the running statement with "interrupted".
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), _SQLITE_CHECK_EVERY)

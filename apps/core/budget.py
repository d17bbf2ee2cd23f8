"""A time budget for the reads a client can make expensive: lists and searches whose filter, sort and total the
client chooses. One request must not keep the database busy for minutes.

On PostgreSQL the budget is `statement_timeout`, set with `set_config(..., true)` (`SET LOCAL`) inside a
transaction: it ends with the transaction, so a connection reused by the next request (CONN_MAX_AGE) or by a
worker never keeps it. SQLite has no statement timeout; there sqlite3's progress handler interrupts a query that
runs past the deadline, which has the same effect for a single process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

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
    """Run the block's queries with at most `milliseconds` each (0: no budget); a query cancelled for running
    longer raises QueryTimeout. The block must only read: on PostgreSQL it runs in a transaction of its own."""
    connection = connections[using]
    if milliseconds <= 0:
        yield
    elif connection.vendor == "postgresql":
        with _postgresql_budget(connection, milliseconds, using):
            yield
    elif connection.vendor == "sqlite":
        with _sqlite_budget(connection, milliseconds):
            yield
    else:
        yield


@contextmanager
def _postgresql_budget(connection: BaseDatabaseWrapper, milliseconds: int, using: str) -> Iterator[None]:
    from psycopg.errors import QueryCanceled  # only installed where PostgreSQL is used

    outer = connection.in_atomic_block
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)",
                [f"{milliseconds}ms"],
            )
            previous = cursor.fetchone()[0]
        try:
            yield
        except OperationalError as exc:
            if isinstance(exc.__cause__, QueryCanceled):
                raise QueryTimeout(milliseconds) from exc
            raise
        if outer:
            # Within an outer transaction, SET LOCAL outlives the released savepoint until that transaction
            # ends: give the rest of it its own timeout back.
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])


@contextmanager
def _sqlite_budget(connection: BaseDatabaseWrapper, milliseconds: int) -> Iterator[None]:
    connection.ensure_connection()
    raw = connection.connection
    deadline = time.monotonic() + milliseconds / 1000
    # A non-zero answer makes SQLite abandon the running statement with "interrupted".
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), _SQLITE_CHECK_EVERY)
    try:
        yield
    except OperationalError as exc:
        if "interrupted" in str(exc):
            raise QueryTimeout(milliseconds) from exc
        raise
    finally:
        raw.set_progress_handler(None, 0)

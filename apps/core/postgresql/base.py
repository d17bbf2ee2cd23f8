"""Django's PostgreSQL backend, with two round trips taken off the API's hot path.

The health check. With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request on a
reused connection: on the API's hot path, a third of its round trips. A connection that answered a query a moment
ago is known good, so it is checked only once it has been idle for DATABASE_HEALTH_CHECK_IDLE_SECONDS. If it died
within that moment anyway (the server restarted), the request's query fails, Django notes the error and, at the end
of that request, finds the connection unusable and closes it: the next request connects afresh, as after a failed
check.

The statement timeout (apps.core.budget). A budget says which `statement_timeout` the queries of a block run with;
the session is changed only when its next query needs another value than the session has, and then with one `SET`
sent just before that query. A web thread serving API request after API request, all under the API's budget, sets
it once per connection instead of opening a transaction to `SET LOCAL` it on every request; a query outside any
budget (a worker's, the console's) finds the server's default restored first. A `SET` made in a transaction that is
rolled back is undone by PostgreSQL, so a rollback makes the session's value unknown, and the next query sets it
again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base

# The session's timeout is the one it started with (DATABASES' options, or the server's default).
DEFAULT: str | None = None
# After a rollback the session may hold either value: set it before the next query.
_UNKNOWN = "unknown"


class DatabaseWrapper(base.DatabaseWrapper):
    health_check_done: bool  # set by Django's base class, which the stubs leave out

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.used_at: float | None = None  # time.monotonic() of the last query the server answered
        self.wanted_timeout: str | None = DEFAULT  # what the queries of the current block must run with
        self.session_timeout: str | None = DEFAULT  # what the session holds
        self.timeout_changes = 0  # `SET`s sent, for the tests that count round trips
        self.execute_wrappers.append(self._around_query)

    def connect(self) -> None:
        super().connect()
        self.used_at = time.monotonic()
        self.session_timeout = DEFAULT

    def close_if_health_check_failed(self) -> None:
        idle_after = settings.DATABASE_HEALTH_CHECK_IDLE_SECONDS
        recent = self.used_at is not None and time.monotonic() - self.used_at < idle_after
        if recent and self.connection is not None and not self.health_check_done:
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    @contextmanager
    def statement_timeout(self, milliseconds: int) -> Iterator[None]:
        """The block's queries run with `statement_timeout` at `milliseconds`; after it, with what they had."""
        outer, self.wanted_timeout = self.wanted_timeout, f"{milliseconds}ms"
        try:
            yield
        finally:
            self.wanted_timeout = outer

    def _around_query(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.wanted_timeout != self.session_timeout:
            self._set_timeout()
        result = execute(sql, params, many, context)
        self.used_at = time.monotonic()
        return result

    def _set_timeout(self) -> None:
        raw = self.connection
        with self.wrap_database_errors:
            if self.wanted_timeout is DEFAULT:
                raw.execute("RESET statement_timeout")
            else:
                raw.execute("SELECT set_config('statement_timeout', %s, false)", [self.wanted_timeout])
        self.session_timeout = self.wanted_timeout
        self.timeout_changes += 1

    # After the rollback: the rollback's own statement must not set the timeout first (in an aborted transaction,
    # it would fail).
    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]  # Django's, which the stubs leave out
        finally:
            self.session_timeout = _UNKNOWN

    def _savepoint_rollback(self, sid: str) -> None:
        try:
            super()._savepoint_rollback(sid)  # type: ignore[misc]  # as above
        finally:
            self.session_timeout = _UNKNOWN

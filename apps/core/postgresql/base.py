"""Django's PostgreSQL backend, with the connection health check skipped for a connection that was just used.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request on a reused connection:
on the API's hot path, a third of its round trips. A connection that answered a query a moment ago is known good,
so it is checked only once it has been idle for DATABASE_HEALTH_CHECK_IDLE_SECONDS. If it died within that moment
anyway (the server restarted), the request's query fails, Django notes the error and, at the end of that request,
finds the connection unusable and closes it: the next request connects afresh, as after a failed check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    health_check_done: bool  # set by Django's base class, which the stubs leave out

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.used_at: float | None = None  # time.monotonic() of the last query the server answered
        self.execute_wrappers.append(self._note_use)

    def connect(self) -> None:
        super().connect()
        self.used_at = time.monotonic()

    def close_if_health_check_failed(self) -> None:
        idle_after = settings.DATABASE_HEALTH_CHECK_IDLE_SECONDS
        recent = self.used_at is not None and time.monotonic() - self.used_at < idle_after
        if recent and self.connection is not None and not self.health_check_done:
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _note_use(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        self.used_at = time.monotonic()
        return result

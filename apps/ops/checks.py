"""What readiness means: the database answers, the broker answers, and every migration on disk is applied.

Each check answers "ok" or a short reason. Reasons are fixed words plus the exception's class name, never the
exception's text: a driver's message can carry a host, a user name or a URL, and the probe answers anyone."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

OK = "ok"
# The broker must answer quickly or count as down: a probe is called every few seconds and must not pile up.
BROKER_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(result == OK for result in self.checks.values())

    @property
    def failing(self) -> list[str]:
        return [name for name, result in self.checks.items() if result != OK]


def readiness() -> Readiness:
    database = database_check()
    # Without a database the migrations cannot be compared; say so rather than report a second error.
    migrations = migrations_check() if database == OK else "unknown: the database is unreachable"
    return Readiness({"database": database, "broker": broker_check(), "migrations": migrations})


def database_check() -> str:
    # A connection made here gives up after DATABASE_CONNECT_TIMEOUT_SECONDS on PostgreSQL (config/settings/base.py):
    # a database host that hangs answers 503 in seconds instead of holding the probe until the orchestrator's own
    # timeout.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        # The next request must not reuse a connection that just failed.
        connection.close_if_unusable_or_obsolete()
        return f"unreachable ({type(error).__name__})"
    return OK


def broker_check() -> str:
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith(("redis://", "rediss://")):
        return _redis_check(url)
    if url.startswith("filesystem://"):
        return _folder_check()
    return f"unknown: no readiness check for the {url.split(':', 1)[0]} transport"


def _redis_check(url: str) -> str:
    try:
        redis_client(url).ping()
    except (redis.RedisError, OSError) as error:
        return f"unreachable ({type(error).__name__})"
    return OK


@lru_cache(maxsize=4)
def redis_client(url: str) -> redis.Redis:
    # One client (and its connection pool) per URL for the life of the process: a probe every second must not open
    # a new connection each time. A connection that broke is dropped by the pool and made again on the next call.
    return redis.Redis.from_url(
        url, socket_connect_timeout=BROKER_TIMEOUT_SECONDS, socket_timeout=BROKER_TIMEOUT_SECONDS
    )


def _folder_check() -> str:
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    for key in ("data_folder_in", "control_folder"):
        folder = Path(str(options.get(key, "")))
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            return "unwritable: a broker folder is missing or read-only"
    return OK


def migrations_check() -> str:
    try:
        unapplied = unapplied_migrations()
    except DatabaseError as error:
        return f"unknown ({type(error).__name__})"
    if unapplied:
        return f"{len(unapplied)} unapplied: {', '.join(unapplied[:5])}{', ...' if len(unapplied) > 5 else ''}"
    return OK


def unapplied_migrations() -> list[str]:
    """The migrations `manage.py migrate` would apply, as app.name."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]

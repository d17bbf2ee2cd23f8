"""/healthz and /readyz: what an orchestrator calls, by IP address, without credentials."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from apps.ops.checks import unapplied_migrations

# An orchestrator calls the container by its address, which is not in ALLOWED_HOSTS.
PROBE = Client(HTTP_HOST="10.1.2.3:8000")


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return int(listener.getsockname()[1])


def body(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/json"
    loaded: dict[str, Any] = json.loads(response.content)
    return loaded


# --- /healthz ------------------------------------------------------------------------------------------------------


def test_healthz_answers_200_by_ip_address_without_asking_the_database() -> None:
    # No django_db mark: pytest-django makes any database access in this test raise.
    response = PROBE.get("/healthz")

    assert response.status_code == 200
    assert body(response) == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_healthz_answers_even_when_https_is_required(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True

    assert PROBE.get("/healthz").status_code == 200


# --- /readyz -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_readyz_answers_200_with_every_check_ok_when_all_is_up() -> None:
    response = PROBE.get("/readyz")

    assert response.status_code == 200, response.content
    assert body(response) == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "migrations": "ok"}}


@pytest.mark.django_db
def test_readyz_answers_503_naming_the_broker_when_it_cannot_be_reached(settings: Any) -> None:
    settings.CELERY_BROKER_URL = f"redis://:a-broker-password@127.0.0.1:{free_port()}/0"

    started = time.monotonic()
    response = PROBE.get("/readyz")

    assert response.status_code == 503
    answer = body(response)
    assert answer["status"] == "fail"
    assert answer["checks"]["broker"].startswith("unreachable")
    assert answer["checks"]["database"] == "ok" and answer["checks"]["migrations"] == "ok"
    assert "a-broker-password" not in response.content.decode()
    assert "127.0.0.1" not in response.content.decode()
    assert time.monotonic() - started < 5


@pytest.mark.django_db
def test_readyz_answers_503_naming_the_migrations_when_one_is_not_applied() -> None:
    # The newest migration of the jobs app, recorded as not applied (the test's transaction puts it back).
    MigrationRecorder(connection).migration_qs.filter(app="jobs").order_by("-id").first().delete()  # type: ignore[union-attr]
    missing = unapplied_migrations()

    response = PROBE.get("/readyz")

    assert len(missing) == 1 and missing[0].startswith("jobs.")
    assert response.status_code == 503
    assert body(response)["checks"] == {"database": "ok", "broker": "ok", "migrations": f"1 unapplied: {missing[0]}"}


@pytest.mark.django_db
def test_readyz_answers_503_naming_the_database_without_its_error_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise DatabaseError('connection to server at "db.internal" failed: password authentication failed for "app"')

    monkeypatch.setattr(connection, "cursor", refuse)

    response = PROBE.get("/readyz")

    assert response.status_code == 503
    assert body(response) == {
        "status": "fail",
        "checks": {
            "database": "unreachable (DatabaseError)",
            "broker": "ok",
            "migrations": "unknown: the database is unreachable",
        },
    }


@pytest.fixture
def silent_postgres() -> Iterator[int]:
    """A port that takes TCP connections and never says a word: a PostgreSQL host that hangs, as one behind a
    firewall that drops packets, or a server stuck before it answers the start-up message."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes the handshakes; nothing ever accepts or answers them
        yield int(listener.getsockname()[1])


@pytest.mark.django_db
def test_readyz_answers_503_within_the_connect_timeout_when_postgresql_hangs(
    settings: Any, silent_postgres: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    from apps.ops import checks
    from config.env import env_database

    # The database as the settings make it for a PostgreSQL URL (config/settings/base.py), on the silent port.
    monkeypatch.setenv("PROBE_TEST_DATABASE_URL", f"postgres://app:secret@127.0.0.1:{silent_postgres}/console")
    database = env_database("PROBE_TEST_DATABASE_URL", "")
    database.setdefault("OPTIONS", {})["connect_timeout"] = settings.DATABASE_CONNECT_TIMEOUT_SECONDS
    hanging = DatabaseWrapper(connections.configure_settings({"default": database})["default"], "probe")
    monkeypatch.setattr(checks, "connection", hanging)

    started = time.monotonic()
    response = PROBE.get("/readyz")
    took = time.monotonic() - started

    assert response.status_code == 503
    assert body(response)["checks"]["database"] == "unreachable (OperationalError)"
    assert 1.5 < took < settings.DATABASE_CONNECT_TIMEOUT_SECONDS + 2  # the timeout, not a refusal, ended it


def test_a_postgresql_database_gets_a_connect_timeout_unless_its_url_sets_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from tests.test_settings import load_base_settings

    url = "postgres://console@db.internal:5432/aiconsole"
    monkeypatch.delenv("DATABASE_CONNECT_TIMEOUT_SECONDS", raising=False)

    default = load_base_settings(monkeypatch, tmp_path, DATABASE_URL=url)["DATABASES"]["default"]
    in_url = load_base_settings(monkeypatch, tmp_path, DATABASE_URL=f"{url}?connect_timeout=10")
    chosen = load_base_settings(monkeypatch, tmp_path, DATABASE_URL=url, DATABASE_CONNECT_TIMEOUT_SECONDS="7")

    assert default["OPTIONS"]["connect_timeout"] == 3
    assert str(in_url["DATABASES"]["default"]["OPTIONS"]["connect_timeout"]) == "10"
    assert chosen["DATABASES"]["default"]["OPTIONS"]["connect_timeout"] == 7


@pytest.mark.django_db
def test_readyz_answers_503_when_the_file_brokers_folder_is_gone(settings: Any, tmp_path: Any) -> None:
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "gone"),
        "control_folder": str(tmp_path),
    }

    response = PROBE.get("/readyz")

    assert response.status_code == 503
    assert body(response)["checks"]["broker"].startswith("unwritable")


@pytest.mark.django_db
def test_readyz_takes_no_session_and_sets_no_cookie() -> None:
    response = PROBE.get("/readyz")

    assert not response.cookies


# --- a real broker going down and coming back ------------------------------------------------------------------------


@pytest.fixture
def throwaway_redis_port() -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    """A port where a Redis server of the test's own can be started (and is stopped at the end)."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed on PATH for this test (apt-get install redis-server)")
    started: list[subprocess.Popen[bytes]] = []
    yield free_port(), started
    for process in started:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.django_db
def test_readyz_answers_503_while_the_broker_is_down_and_200_once_it_is_back(
    settings: Any, throwaway_redis_port: tuple[int, list[subprocess.Popen[bytes]]]
) -> None:
    port, started = throwaway_redis_port
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"

    down = PROBE.get("/readyz")
    started.append(
        subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    up = _wait_for_status(200)

    assert down.status_code == 503 and body(down)["checks"]["broker"].startswith("unreachable")
    assert up.status_code == 200 and body(up)["checks"]["broker"] == "ok"


def _wait_for_status(status: int, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        response = PROBE.get("/readyz")
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.1)

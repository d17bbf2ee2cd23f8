"""LOG_FORMAT=json end to end: a real web server (gunicorn, started as the Procfile starts it) and a real worker
write nothing but JSON lines through a whole run (a token request with the client secret, API calls with the
bearer token, a token value stored, an export run by the worker); the worker's lines about the job carry the id of
the request that created it; no secret appears anywhere in what either process wrote. The scheduler, started as
the Procfile starts it, writes only JSON lines too."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from apps.accounts.services import IssuedClient
from apps.agents.seeding import seed_catalogue
from apps.tenants.models import Tenant
from config import keys
from tests.conftest import MANAGE, READ
from tests.server import ServerProcess
from tests.worker import ROOT, WorkerProcess, database_url, purge_broker, wait_for

JSON_LOGS = {"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
REQUEST_ID = "run-4f2a9c-export"
# Headers whose names are not Python names (typed Any: ServerProcess.call also takes `timeout` among its keywords).
FORM_BODY: dict[str, Any] = {"Content-Type": "application/x-www-form-urlencoded"}
TRACED: dict[str, Any] = {"X-Request-ID": REQUEST_ID}


def json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of the file as a JSON object; the test fails on the first line that is not one."""
    lines = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            parsed = json.loads(line)
        except ValueError:
            pytest.fail(f"{path.name}, line {number} is not JSON: {line!r}")
        assert isinstance(parsed, dict), f"{path.name}, line {number} is not a JSON object: {line!r}"
        lines.append(parsed)
    return lines


def application_keys() -> list[str]:
    """The keys every process was started with (the test settings put them in the environment)."""
    values = [
        os.environ[keys.SECRET_KEY],
        os.environ[keys.EXPORT_SIGNING_KEY],
        os.environ[keys.API_CLIENT_SECRET_PEPPER],
    ]
    values += [key.strip() for key in os.environ[keys.TOKEN_ENCRYPTION_KEYS].split(",") if key.strip()]
    return values


@pytest.mark.django_db(transaction=True)
def test_a_run_writes_only_json_lines_that_join_a_job_to_its_request_and_name_no_secret(
    tmp_path: Path, tenant: Tenant, issue_client: Callable[..., IssuedClient]
) -> None:
    issued = issue_client(tenant, READ, MANAGE)
    catalogue = seed_catalogue(tenant=tenant, agents=1, tools_per_agent=1, servers_per_agent=0)
    token_value = "sk-" + secrets.token_hex(20)
    worker = WorkerProcess(output=tmp_path, log_level="INFO", **JSON_LOGS)
    server = ServerProcess(threads=2, options=("--config", "python:config.gunicorn"), output=tmp_path, **JSON_LOGS)
    try:
        worker.wait_ready()
        form = {"grant_type": "client_credentials", "client_id": issued.client.client_id}
        form["client_secret"] = issued.client_secret
        issued_token = server.call("POST", "/oauth/token", urlencode(form).encode(), **FORM_BODY)
        assert issued_token.status == 200, issued_token.body[:300]
        access_token = issued_token.json()["access_token"]

        stored = server.call(
            "PUT", "/ai-service/acme/agentic/tokens/llm", {"name": "LLM key", "value": token_value}, token=access_token
        )
        assert stored.status in (200, 201), stored.body[:300]
        assert server.call("GET", "/ai-service/acme/agentic/agents", token=access_token).status == 200
        assert server.call("GET", "/ai-service/acme/agentic/agents", token=access_token + "x").status == 401
        exported = server.call(
            "POST",
            "/ai-service/acme/agentic/agents/export",
            {"agentIds": [catalogue.agents[0]]},
            token=access_token,
            **TRACED,
        )
        assert exported.status in (200, 202), exported.body[:300]
        assert exported.headers["X-Request-ID"] == REQUEST_ID
        job_id = exported.json()["jobId"]

        def job_done() -> bool:
            answer = server.call("GET", f"/ai-service/acme/jobs/{job_id}", token=access_token)
            return bool(answer.json()["status"] == "success")

        wait_for(job_done, timeout=60, what="the export job to succeed")
    finally:
        server.stop()
        worker.stop()

    web = json_lines(tmp_path / "web.stderr") + json_lines(tmp_path / "web.stdout")
    work = json_lines(tmp_path / "worker.stderr") + json_lines(tmp_path / "worker.stdout")
    assert web and work
    assert all({"timestamp", "level", "logger", "message"} <= set(line) for line in web + work)
    # The server's own lines (gunicorn's master) are JSON too, and it writes no access log of its own.
    assert any(line["logger"] == "gunicorn.error" for line in web)
    assert not any(line["logger"] == "gunicorn.access" for line in web)

    access = [line for line in web if line["logger"] == "apps.access"]
    export_line = next(line for line in access if line["request_id"] == REQUEST_ID)
    assert export_line["route"] == "/ai-service/<str:tenant>/agentic/agents/export"
    assert export_line["method"] == "POST" and export_line["status"] == exported.status
    assert export_line["tenant"] == "acme" and export_line["client_id"] == issued.client.client_id
    assert isinstance(export_line["duration_ms"], float)
    token_line = next(line for line in access if line["route"] == "/oauth/token")
    assert token_line["client_id"] == issued.client.client_id and token_line["status"] == 200
    # Every request has its own id, made by the server when the caller sent none; Django's own lines about refused
    # requests (the 401) carry it too.
    assert len({line["request_id"] for line in access}) == len(access)
    refused = [line for line in web if line["logger"] == "django.request"]
    assert refused and all(line["request_id"] in {one["request_id"] for one in access} for line in refused)

    # The worker's lines about the job join the request that created it.
    job_lines = [line for line in work if line.get("job_id") == job_id]
    assert job_lines, work
    assert all(line["request_id"] == REQUEST_ID and line["tenant"] == "acme" for line in job_lines)
    assert not any("Warm shutdown (MainProcess)" in line["message"] for line in work)

    everything = "".join(
        (tmp_path / name).read_text() for name in ("web.stdout", "web.stderr", "worker.stdout", "worker.stderr")
    )
    for secret in [issued.client_secret, access_token, token_value, *application_keys()]:
        assert secret not in everything


def procfile_command(name: str) -> list[str]:
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith(f"{name}:"))
    return shlex.split(line.partition(":")[2])


def test_the_scheduler_as_the_procfile_starts_it_writes_only_json_lines(tmp_path: Path) -> None:
    command = procfile_command("beat")
    assert command[0] == ".venv/bin/celery"
    environment = {
        **os.environ,
        **JSON_LOGS,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "JOB_SWEEP_INTERVAL_SECONDS": "1",
    }
    output = tmp_path / "beat.stdout", tmp_path / "beat.stderr"
    with output[0].open("wb") as stdout, output[1].open("wb") as stderr:
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", *command[1:], "--schedule", str(tmp_path / "schedule")],
            cwd=ROOT,
            env=environment,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        wait_for(lambda: "Sending due task jobs-sweep" in output[1].read_text(), timeout=60, what="a sweep sent")
    finally:
        beat.send_signal(signal.SIGTERM)
        beat.wait(timeout=30)
        purge_broker()

    lines = json_lines(output[0]) + json_lines(output[1])
    messages = [line["message"] for line in lines if line["logger"] == "celery.beat"]
    assert "beat: Starting..." in messages
    assert all({"timestamp", "level", "logger", "message"} <= set(line) for line in lines)


def test_every_start_command_uses_the_servers_log_settings_and_keeps_celery_quiet() -> None:
    web, beat = " ".join(procfile_command("web")), procfile_command("beat")
    compose = (ROOT / "docker-compose.yml").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--config python:config.gunicorn config.wsgi" in web and "--access-logfile" not in web
    assert "--quiet" in beat
    assert "command: gunicorn --config python:config.gunicorn config.wsgi" in compose
    assert "command: celery --quiet --app config beat" in compose
    assert "--access-logfile" not in compose
    assert '"gunicorn", "--config", "python:config.gunicorn", "config.wsgi"' in dockerfile

"""The README's API walkthrough runs as written: its shell blocks (marked `<!-- walkthrough -->`) run in order, in
one bash session, against a live server (gunicorn) and a real Celery worker on the test database, with `BASE`
pointing at the server's free port. Any failing command (curl -f fails on an HTTP error) fails the test."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command

from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.worker import ROOT, WorkerProcess, database_url, wait_for

README = ROOT / "README.md"
EXAMPLE = ROOT / "docs" / "examples" / "jobs.json"
MARK = "<!-- walkthrough -->"
BASE_LINE = "BASE=http://127.0.0.1:8000"


def walkthrough() -> list[str]:
    """The marked ```sh blocks, in README order."""
    return re.findall(rf"^{re.escape(MARK)}\n```sh\n(.*?)^```$", README.read_text(), re.MULTILINE | re.DOTALL)


def section_blocks(title: str) -> list[str]:
    text = README.read_text()
    section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_every_shell_block_of_the_api_walkthrough_is_marked_to_run():
    blocks = walkthrough()
    assert (
        section_blocks("First steps with the API") + section_blocks("Agents, and moving them between tenants") == blocks
    )
    assert len(blocks) >= 6


def test_the_walkthrough_is_written_to_run_as_it_stands():
    script = "".join(walkthrough())
    assert script.count(BASE_LINE) == 1 and script.startswith(BASE_LINE + "\n")
    assert "127.0.0.1:8000" not in script.replace(BASE_LINE, ""), "use $BASE"
    assert "..." not in script and "JOB_ID " not in script and "/JOB_ID" not in script
    assert re.findall(r"(\S+) manage\.py", script) == [".venv/bin/python"] * script.count("manage.py")
    for command in re.findall(r"\bcurl (\S+)", script):
        assert command.startswith("-fsS"), "curl -f makes an HTTP error fail the block"


def test_the_example_history_loads_and_reads_back_in_the_published_job_shape(tenant, manager):
    call_command("load_jobs", "acme", str(EXAMPLE))
    jobs = json.loads(EXAMPLE.read_text())

    response = manager.get("/ai-service/acme/jobs", {"pageSize": 1000})  # checked against the contract

    assert response.status_code == 200
    assert sorted(response.body, key=lambda job: job["id"]) == sorted(jobs, key=lambda job: job["id"])
    kinds = {(job["type"], job["status"]) for job in jobs}
    # Only an agent run can be skipped (a commerce event its trigger's filter does not match).
    possible = {(t, s) for t in Job.Type.values for s in Job.Status.values}
    assert kinds == possible - {(t, Job.Status.SKIPPED) for t in Job.TRANSFERS}
    assert 24 <= len(jobs) <= 100


@pytest.fixture
def server(transactional_db: Any) -> Iterator[str]:
    """gunicorn on a free port of 127.0.0.1, on the test database, with a worker for export and import."""
    port = free_port()
    env = serving_environment()
    process = subprocess.Popen(
        # No control socket: each gunicorn would take the one path per user from the others running beside it.
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        worker = WorkerProcess(JOB_WAIT_SECONDS=env["JOB_WAIT_SECONDS"])
        try:
            wait_for(lambda: _answers(base), timeout=60, what="the web server")
            worker.wait_ready()
            yield base
        finally:
            worker.stop()
    finally:
        process.terminate()
        process.communicate(timeout=20)


def serving_environment() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        # A slow machine may take longer than the default 10 s to run an export; the walkthrough expects the answer.
        "JOB_WAIT_SECONDS": "60",
    }


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/", timeout=10).status_code == 200
    except requests.RequestException:
        return False


def test_the_walkthrough_runs_top_to_bottom_against_a_live_console(server: str, tmp_path: Path):
    # Files the walkthrough writes (client.json, export.json, stage.json) go to a folder of their own; what it
    # reads from the repository is linked there.
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    for name in ("manage.py", "docs"):
        (tmp_path / name).symlink_to(ROOT / name)
    script = "".join(walkthrough()).replace(BASE_LINE, f"BASE={server}", 1)
    (tmp_path / "walkthrough.sh").write_text("set -euo pipefail\n" + script)

    done = subprocess.run(
        ["bash", "walkthrough.sh"],
        cwd=tmp_path,
        env=serving_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    demo, stage = Tenant.objects.get(name="demo"), Tenant.objects.get(name="stage")
    example = len(json.loads(EXAMPLE.read_text()))
    assert Job.objects.filter(tenant=demo).exclude(type=Job.Type.EXPORT, payload__isnull=False).count() == (
        example + 500 - 1
    )
    exported = Job.objects.get(tenant=demo, type=Job.Type.EXPORT, payload__isnull=False)
    imported = Job.objects.get(tenant=stage, type=Job.Type.IMPORT)
    assert (exported.status, imported.status) == (Job.Status.SUCCESS, Job.Status.SUCCESS)
    assert json.loads((tmp_path / "export.json").read_text())["jobId"] == exported.job_id
    assert '"state":' in done.stdout and "HTTP/1.1 200" in done.stdout

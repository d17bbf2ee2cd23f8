"""`make run` with no model endpoint configured: it points the installation's own provider at a demo model served on
loopback (the lines it writes into var/local.env), starts that model beside web, workers and scheduler, and runs
agent runs on a worker of their own."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_make import ROOT, clean_environment, serve

URL, EGRESS, MARK = "PLATFORM_LLM_BASE_URL", "AGENT_EGRESS_ALLOWED_HOSTS", "DEMO_MODEL_PORT"


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout without .env, whose var/local.env holds the keys `config.keys local` made."""
    monkeypatch.setattr(serve, "ROOT", tmp_path)
    monkeypatch.setenv("APP_VAR_DIR", str(tmp_path / "var"))
    for name in (URL, EGRESS, MARK):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "var").mkdir()
    local = tmp_path / "var" / "local.env"
    local.write_text("# Keys of this local console\nDJANGO_SECRET_KEY=kept-as-it-is\n")
    local.chmod(0o600)
    return tmp_path / "var"


def values(var: Path) -> dict[str, str]:
    return serve.dotenv_values(var / "local.env")


def test_with_no_endpoint_configured_local_env_points_agents_at_the_demo_model_on_loopback(var: Path) -> None:
    port = serve.wire_demo_model()

    assert port is not None and not serve.port_taken("127.0.0.1", port)
    assert values(var) == {
        "DJANGO_SECRET_KEY": "kept-as-it-is",
        MARK: str(port),
        URL: f"http://127.0.0.1:{port}/v1",
        EGRESS: "127.0.0.1",
    }
    assert stat.S_IMODE((var / "local.env").stat().st_mode) == 0o600
    assert (var / "local.env").read_text().startswith("# Keys of this local console\n")


def test_the_next_start_keeps_the_port_and_leaves_the_file_as_it_is(var: Path) -> None:
    port = serve.wire_demo_model()
    before = (var / "local.env").read_text()
    os.utime(var / "local.env", (0, 0))

    assert serve.wire_demo_model() == port
    assert (var / "local.env").read_text() == before
    assert (var / "local.env").stat().st_mtime == 0


def test_a_port_taken_meanwhile_is_replaced_by_a_free_one(var: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        (var / "local.env").write_text(f"{MARK}={taken}\n{URL}=http://127.0.0.1:{taken}/v1\n{EGRESS}=127.0.0.1\n")

        port = serve.wire_demo_model()

    assert port != taken
    assert values(var)[URL] == f"http://127.0.0.1:{port}/v1" and values(var)[MARK] == str(port)
    assert (var / "local.env").read_text().count(f"{URL}=") == 1


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_an_endpoint_configured_by_hand_is_used_and_nothing_is_written(
    var: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if where == "environment":
        monkeypatch.setenv(URL, "https://llm.example.com/v1")
    else:
        (serve.ROOT / ".env").write_text(f"{URL}=https://llm.example.com/v1\n")
    before = (var / "local.env").read_text()

    assert serve.wire_demo_model() is None
    assert (var / "local.env").read_text() == before


def test_an_endpoint_written_into_local_env_by_hand_is_left_alone(var: Path) -> None:
    (var / "local.env").write_text(f"{URL}=http://10.0.0.5:8080/v1\n")

    assert serve.wire_demo_model() is None
    assert values(var) == {URL: "http://10.0.0.5:8080/v1"}


def test_hosts_agents_may_reach_that_are_configured_are_not_overwritten(
    var: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EGRESS, "models.internal")

    assert serve.wire_demo_model() is not None
    assert EGRESS not in values(var)


def test_every_process_reads_the_demo_models_address_from_local_env(var: Path) -> None:
    port = serve.wire_demo_model()
    code = "import os; from config.env import load_env; load_env(); print(os.environ['PLATFORM_LLM_BASE_URL'])"

    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_environment(APP_VAR_DIR=str(var)),
        capture_output=True,
        text=True,
        check=True,
    )

    assert done.stdout.strip() == f"http://127.0.0.1:{port}/v1"


def test_the_banner_says_which_model_agents_answer_with(tmp_path: Path) -> None:
    admin_file = tmp_path / "first-admin.txt"
    admin_file.write_text("  password    s3cret\n")

    with_demo = serve.banner_lines("http://127.0.0.1:8000", admin_file, new_admin=False, demo_port="8123")
    without = serve.banner_lines("http://127.0.0.1:8000", admin_file, new_admin=False)

    assert any("demo model (http://127.0.0.1:8123/v1)" in line for line in with_demo)
    assert not any("demo model" in line for line in without)
    assert with_demo[-1] == without[-1] == f"The first administrator's sign-in is in {admin_file}."


# --- the Procfile ----------------------------------------------------------------------------------------------------


def procfile() -> dict[str, str]:
    entries = (line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    return {name: command.strip() for name, command in entries}


def test_make_run_starts_a_worker_for_agent_runs_beside_the_one_for_exports_and_imports() -> None:
    entries = procfile()

    assert "--queues celery " in entries["worker"] and "agents" not in entries["worker"]
    assert "--queues agents " in entries["agents"] and "--hostname agents@%h" in entries["agents"]
    assert entries["agents"].startswith("MAKE_RUN_READY_NAME=agents ")
    assert entries["demo-model"] == ".venv/bin/python scripts/serve.py demo-model"
    assert set(entries) == {"web", "worker", "agents", "beat", "demo-model", "ready"}


class Stopped(Exception):
    pass


@pytest.fixture
def fake_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for .venv/bin/python that records how it was started and fails; `idle` ends the test."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "started"
    script = bin_dir / "python"
    script.write_text(f'#!/bin/sh\necho "$@ DEBUG=$DJANGO_DEBUG" > {record}\nexit 3\n')
    script.chmod(0o755)
    monkeypatch.setattr(serve, "BIN", bin_dir)
    monkeypatch.setattr(serve.signal, "signal", lambda *args: None)  # pytest keeps its own handlers

    def idle() -> Any:
        raise Stopped

    monkeypatch.setattr(serve, "idle", idle)
    return record


def test_the_demo_model_is_served_with_debug_on_for_its_process_only(
    fake_python: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAKE_RUN_DEMO_MODEL_PORT", "8123")
    monkeypatch.delenv("DJANGO_DEBUG", raising=False)

    with pytest.raises(Stopped):
        serve.demo_model()

    assert fake_python.read_text().strip() == "manage.py demo_model --port 8123 DEBUG=true"
    assert "DJANGO_DEBUG" not in os.environ
    # It failed: the console keeps running without it, saying so.
    assert "The demo model stopped (exit 3)" in capsys.readouterr().out


def test_with_an_endpoint_configured_no_demo_model_starts(
    fake_python: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAKE_RUN_DEMO_MODEL_PORT", "")

    with pytest.raises(Stopped):
        serve.demo_model()

    assert not fake_python.exists()
    assert "no demo model is started" in capsys.readouterr().out

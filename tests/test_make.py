"""The front door: `make` lists the targets, `make install` picks a supported Python, and `make run` refuses a
taken port or a second console on the same checkout within seconds, having started nothing."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make") or "make"
# `make run` as a user types it, except that it never installs: the tests use the .venv they run in.
MAKE_RUN = [MAKE, "--no-print-directory", "--old-file=.venv/.installed-run", "run"]


def _serve_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("serve", ROOT / "scripts" / "serve.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


serve = _serve_module()


def clean_environment(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no outer make, no database or broker of the test run, and none of what an
    earlier `make run` in this checkout wrote into var/local.env (the suite's settings loaded it into os.environ)."""
    hidden = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DATABASE_URL", "REDIS_URL", "PORT", "HOST", "APP_VAR_DIR"}
    hidden |= {"PLATFORM_LLM_BASE_URL", "AGENT_EGRESS_ALLOWED_HOSTS", "DEMO_MODEL_PORT"}
    # make run empties its metrics folder when it starts: never the one this test run writes into.
    hidden |= {"PROMETHEUS_MULTIPROC_DIR"}
    # pytest-django sets the test settings for the processes the tests start; make run's own are config.settings.base.
    # Under the test settings each of its processes would name a metrics folder, cache and broker of its own when the
    # suite runs in several processes (config/suite_processes.py), and none would see the others'.
    hidden |= {"DJANGO_SETTINGS_MODULE"}
    return {**{k: v for k, v in os.environ.items() if k not in hidden}, **extra}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- make help -------------------------------------------------------------------------------------------------


def test_make_alone_lists_every_target_with_one_line_each() -> None:
    done = subprocess.run([MAKE, "--no-print-directory"], cwd=ROOT, capture_output=True, text=True, check=True)
    lines = done.stdout.splitlines()
    for target in ("help", "install", "run", "test", "lint", "format", "bench", "clean", "migrate"):
        matching = [line for line in lines if line.split()[:2] == ["make", target]]
        assert len(matching) == 1, (target, done.stdout)
        assert len(matching[0].split()) > 3, f"no description for {target}"


# --- choosing the interpreter ----------------------------------------------------------------------------------


@pytest.fixture
def fake_pythons(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A PATH holding only fake interpreters (made by `add`), and a copy of what `make install` reads."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", "scripts/find-python"):
        shutil.copy2(ROOT / name, project / name)
    for tool in ("touch", "grep"):  # what the install recipes call besides Python
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    yield project, clean_environment(PATH=str(bin_dir))


def add_python(project: Path, name: str, version: str) -> Path:
    """A fake interpreter on the fixture's PATH that reports `version`."""
    path = project.parent / "bin" / name
    major, minor = version.split(".")
    # `-c` (the version check) prints the version; `-m venv DIR` makes DIR/bin/python, a copy of this fake;
    # anything else (pip) succeeds.
    path.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = -c ] && echo {major}.{minor}\n'
        '[ "$1 $2" = "-m venv" ] && /bin/mkdir -p "$3/bin" && /bin/cp "$0" "$3/bin/python"\n'
        "exit 0\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def dry_install(project: Path, environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MAKE, "-n", "install", *arguments],
        cwd=project,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


def test_install_prefers_the_newest_supported_python(fake_pythons: tuple[Path, dict[str, str]]) -> None:
    project, environment = fake_pythons
    add_python(project, "python3.13", "3.13")
    add_python(project, "python3.12", "3.12")
    add_python(project, "python3", "3.11")
    done = dry_install(project, environment)
    assert done.returncode == 0, done.stderr
    assert "python3.13 -m venv .venv" in done.stdout


def test_install_skips_a_name_that_is_not_a_supported_version(fake_pythons: tuple[Path, dict[str, str]]) -> None:
    project, environment = fake_pythons
    add_python(project, "python3.12", "3.10")  # a mislabelled interpreter
    add_python(project, "python3", "3.11")
    done = dry_install(project, environment)
    assert done.returncode == 0, done.stderr
    assert "python3 -m venv .venv" in done.stdout and "python3.12 -m venv" not in done.stdout


def test_install_takes_the_python_it_is_given(fake_pythons: tuple[Path, dict[str, str]]) -> None:
    project, environment = fake_pythons
    chosen = add_python(project, "my-python", "3.12")
    add_python(project, "python3.13", "3.13")
    done = dry_install(project, environment, f"PYTHON={chosen}")
    assert done.returncode == 0, done.stderr
    assert f"{chosen} -m venv .venv" in done.stdout


def test_install_stops_with_one_line_naming_the_versions_when_none_fits(
    fake_pythons: tuple[Path, dict[str, str]],
) -> None:
    project, environment = fake_pythons
    add_python(project, "python3", "3.10")
    add_python(project, "python3.14", "3.14")
    done = subprocess.run([MAKE, "install"], cwd=project, capture_output=True, text=True, env=environment, check=False)
    assert done.returncode != 0
    output = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(output) == 1, output
    assert "Python 3.11, 3.12 or 3.13 is needed" in output[0]
    assert not (project / ".venv").exists()


def test_install_refuses_a_given_python_of_another_version(fake_pythons: tuple[Path, dict[str, str]]) -> None:
    project, environment = fake_pythons
    old = add_python(project, "python3.10", "3.10")
    add_python(project, "python3.12", "3.12")
    done = dry_install(project, environment, f"PYTHON={old}")
    assert done.returncode != 0
    assert "is not Python 3.11, 3.12 or 3.13" in done.stderr and "-m venv" not in done.stdout


def test_run_after_test_installs_nothing_and_test_after_run_adds_only_the_dev_tools(
    fake_pythons: tuple[Path, dict[str, str]],
) -> None:
    project, environment = fake_pythons
    add_python(project, "python3.12", "3.12")

    def make(*arguments: str) -> str:
        done = subprocess.run(
            [MAKE, *arguments], cwd=project, capture_output=True, text=True, env=environment, check=True
        )
        return done.stdout

    assert "pip install --quiet -e . " in make("install")
    assert "pip install" not in make("-n", "install")
    assert "pip install --quiet -e '.[dev]'" in make("-n", "lint")
    make("install-dev")
    # After the dev tools, neither `make run` nor `make test` installs anything.
    after = make("-n", "run") + make("-n", "test")
    assert "serve.py start" in after and "pytest" in after and "pip install" not in after


# --- make run: the port and the lock ---------------------------------------------------------------------------


def run_briefly(port: int, var_dir: Path, limit: float = 20) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [*MAKE_RUN, f"PORT={port}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=clean_environment(APP_VAR_DIR=str(var_dir)),
        timeout=limit,
        check=False,
    )
    return done, time.monotonic() - started


def test_run_stops_at_once_on_a_taken_port_having_started_nothing(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        done, seconds = run_briefly(port, tmp_path)
    assert done.returncode != 0
    assert seconds < 5
    assert f"Port {port} on 127.0.0.1 is taken" in done.stderr and "Nothing was started" in done.stderr
    # No migration (no database file), no worker or scheduler (no broker folder, no readiness files).
    assert not (tmp_path / "db.sqlite3").exists()
    assert not (tmp_path / "broker").exists() and not (tmp_path / "run").exists()


def test_a_second_run_on_the_same_checkout_starts_nothing(tmp_path: Path) -> None:
    port = free_port()
    lock = tmp_path / "run.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("4242\n")
        held.flush()
        done, seconds = run_briefly(port, tmp_path)
    assert done.returncode != 0 and seconds < 5
    assert "already serving from this checkout (process 4242" in done.stderr
    assert not (tmp_path / "db.sqlite3").exists() and not (tmp_path / "run").exists()
    with socket.socket() as probe:  # the port it was given was never bound
        probe.bind(("127.0.0.1", port))


def test_the_port_check_sees_a_listener_on_every_address(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))  # noqa: S104
        listener.listen()
        port = listener.getsockname()[1]
        assert serve.port_taken("127.0.0.1", port)
    assert not serve.port_taken("127.0.0.1", free_port())


# --- make run: settings, readiness, the banner -----------------------------------------------------------------


def test_the_environment_wins_over_env_file_which_wins_over_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve, "ROOT", tmp_path)
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("HOST", raising=False)
    assert serve.port() == 8000 and serve.host() == "127.0.0.1"
    (tmp_path / ".env").write_text("# local\nexport PORT=8001\nHOST='0.0.0.0'\nDJANGO_DEBUG=true\n")
    assert serve.port() == 8001
    assert serve.base_url() == "http://127.0.0.1:8001"  # the wildcard is shown as an address to visit
    monkeypatch.setenv("PORT", "8002")
    assert serve.port() == 8002


def test_a_port_that_is_not_a_number_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "80a")
    with pytest.raises(SystemExit):
        serve.port()


def test_worker_and_scheduler_leave_a_readiness_file_only_under_make_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config import celery

    monkeypatch.delenv("MAKE_RUN_READY_DIR", raising=False)
    celery._worker_ready()
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("MAKE_RUN_READY_DIR", str(tmp_path))
    celery._worker_ready()
    celery._beat_ready()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["beat", "worker"]
    monkeypatch.setenv("MAKE_RUN_READY_NAME", "agents")  # the agent runs' worker (Procfile)
    celery._worker_ready()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["agents", "beat", "worker"]


def test_the_banner_frames_a_new_administrators_sign_in(tmp_path: Path) -> None:
    admin_file = tmp_path / "first-admin.txt"
    admin_file.write_text("First administrator of the console:\n  password    s3cret\n")
    lines = serve.banner_lines("http://127.0.0.1:8001", admin_file, new_admin=True)
    assert lines[0].startswith("AI Service Console is up: http://127.0.0.1:8001/console/")
    assert "  password    s3cret" in lines and any(str(admin_file) in line for line in lines)
    frame = serve.framed(lines).splitlines()
    assert frame[0] == frame[-1] and set(frame[0]) == {"="}
    assert all(len(line) == len(frame[0]) for line in frame)


def test_later_starts_say_where_the_sign_in_is_without_showing_it(tmp_path: Path) -> None:
    admin_file = tmp_path / "first-admin.txt"
    admin_file.write_text("  password    s3cret\n")
    lines = serve.banner_lines("http://127.0.0.1:8000", admin_file, new_admin=False)
    assert not any("s3cret" in line for line in lines)
    assert lines[-1] == f"The first administrator's sign-in is in {admin_file}."


def test_the_announcer_waits_for_web_worker_and_scheduler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAKE_RUN_HOST", "127.0.0.1")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        monkeypatch.setenv("MAKE_RUN_PORT", str(listener.getsockname()[1]))
        assert serve.wait_until_up(tmp_path, time.monotonic()) == ["worker", "agents", "beat"]
        (tmp_path / "worker").touch()
        (tmp_path / "agents").touch()
        (tmp_path / "beat").touch()
        assert serve.wait_until_up(tmp_path, time.monotonic()) == []
    monkeypatch.setenv("MAKE_RUN_PORT", str(free_port()))
    assert serve.wait_until_up(tmp_path, time.monotonic()) == ["web"]


def test_a_start_empties_the_metrics_folder_of_the_library_s_files_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    for name in ("counter_12.db", "histogram_12.db", "notes.txt"):
        (folder / name).write_text("x")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))

    serve.empty_metrics_dir()

    assert [path.name for path in folder.iterdir()] == ["notes.txt"]


def test_the_launcher_needs_nothing_but_the_standard_library() -> None:
    # `make run` checks the port before anything is installed, with whatever Python is at hand.
    done = subprocess.run(
        [sys.executable, "-S", "-c", "import runpy; runpy.run_path('scripts/serve.py', run_name='serve')"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_run_serves_on_the_given_port_and_announces_it_once_everything_is_up(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "run.log"
    # What an earlier run left in the metrics folder: make run empties it before anything starts.
    stale = tmp_path / "var" / "metrics" / "counter_4194304.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old counts")
    with log.open("w") as output:
        started = subprocess.Popen(
            [*MAKE_RUN, f"PORT={port}"],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=clean_environment(APP_VAR_DIR=str(tmp_path / "var")),
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 150
        while "Console is up" not in log.read_text() and started.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        text = log.read_text()
        assert f"AI Service Console is up: http://127.0.0.1:{port}/console/" in text, text[-3000:]
        # Announced after web, workers and scheduler, with the first administrator's sign-in on the real port.
        announced = text.index("Console is up")
        assert text.index("celery@") < announced and text.index("beat: Starting") < announced
        assert text.index("agents@") < announced
        assert f"sign in at  http://127.0.0.1:{port}/console/login/" in text[announced:]
        # No model endpoint is configured: agents are pointed at the demo model, on a port of its own.
        local = serve.dotenv_values(tmp_path / "var" / "local.env")
        demo = local["DEMO_MODEL_PORT"]
        assert local["PLATFORM_LLM_BASE_URL"] == f"http://127.0.0.1:{demo}/v1" and demo != str(port)
        assert f"demo model (http://127.0.0.1:{demo}/v1)" in text[announced:]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(b"GET /api/schema HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            assert connection.recv(64).split(b"\r\n")[0].endswith(b" 200 OK")
        # Every scrape has counted that request once, whichever of the web processes answers it.
        assert not stale.exists()
        schema = {"route": "/api/schema", "method": "GET", "status": "2xx"}
        for _ in range(4):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                scraped = response.read().decode()
            families = text_string_to_metric_families(scraped)
            counted = [
                sample.value
                for family in families
                for sample in family.samples
                if sample.name == "aic_http_requests_total" and sample.labels == schema
            ]
            assert counted == [1.0], scraped
        # While it serves, a second start on another port is refused at once.
        again, seconds = run_briefly(free_port(), tmp_path / "var")
        assert again.returncode != 0 and seconds < 5 and "already serving" in again.stderr
        # Stopped in a hurry (TERM, then KILL to its process group 3 s later), it leaves no process behind, though
        # honcho starts each one in a session of its own.
        processes = descendants(started.pid)
        assert len(processes) >= 8, processes  # honcho, web, two workers with their pools, scheduler, demo model
        os.killpg(started.pid, signal.SIGTERM)
        time.sleep(3)
        os.killpg(started.pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while any(map(running, processes)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in processes if running(pid)]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started.pid, signal.SIGTERM)
        started.wait(timeout=60)


def descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = (task / "children").read_text().split()
            found += map(int, children)
            pending += map(int, children)
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_the_announcer_stays_until_stopped_and_stops_quietly(tmp_path: Path, stop: signal.Signals) -> None:
    # honcho ends every process when one exits: the announcer must outlive its banner, and Ctrl-C is no error.
    for name in serve.READY_FILES:
        (tmp_path / name).touch()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        announcer = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "serve.py"), "announce"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_environment(
                MAKE_RUN_HOST="127.0.0.1",
                MAKE_RUN_PORT=str(listener.getsockname()[1]),
                MAKE_RUN_READY_DIR=str(tmp_path),
                APP_VAR_DIR=str(tmp_path),
            ),
        )
        assert announcer.stdout is not None
        assert announcer.stdout.readline().startswith("=====")
        time.sleep(0.5)
        assert announcer.poll() is None
        announcer.send_signal(stop)
        _, errors = announcer.communicate(timeout=10)
    assert announcer.returncode == 0 and "Traceback" not in errors

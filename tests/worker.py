"""Real Celery workers for end-to-end tests: in a thread of the test process, or as a separate process that a
test can kill. Both use the broker the settings name (Redis in CI, the embedded file broker otherwise) and the
test database, so tests that use them need `transactional_db`: the worker sees only committed rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery import signals
from celery.contrib.testing.worker import start_worker
from django.db import connection, connections

from config.celery import app

ROOT = Path(__file__).resolve().parent.parent


def purge_broker() -> None:
    """Drop messages left by earlier runs, so a test's worker takes only that test's tasks."""
    with app.connection_for_write() as conn:
        for queue in app.conf.task_queues or [app.conf.task_default_queue]:
            conn.default_channel.queue_purge(str(queue))


@contextmanager
def thread_worker(*, purge: bool = True) -> Iterator[None]:
    """A worker in a thread of the test process. `purge=False` keeps the messages already sent: a test that sent
    its job's task before the worker starts (and purged the broker itself before that)."""
    if purge:
        purge_broker()
    signals.task_postrun.connect(_close_thread_connections)
    try:
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING"):
            yield
    finally:
        signals.task_postrun.disconnect(_close_thread_connections)


def _close_thread_connections(**kwargs: Any) -> None:
    """After each task of a worker in a thread: that thread's database connections. Django closes a thread's
    connections only when a request ends, and a worker's thread serves none; left open, one outlives its test until
    the garbage collector finds it, and at the end of the run stops the test database from being dropped."""
    if threading.current_thread() is not threading.main_thread():
        connections.close_all()


def database_url() -> str:
    """The URL of the database the tests run on (the test database, not the configured one)."""
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host, port = settings.get("HOST") or "127.0.0.1", settings.get("PORT") or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


class WorkerProcess:
    """`celery worker` with one prefork child, as `make run` starts it; `kill_child` kills the process running
    the task with SIGKILL, as the kernel's OOM killer would."""

    def __init__(
        self,
        *,
        output: Path | None = None,
        log_level: str = "",
        heartbeat: bool = False,
        hostname: str | None = None,
        **env: str,
    ) -> None:
        """With `output`, a folder, the worker's standard output and error are written to worker.stdout and
        worker.stderr there (long runs would fill a pipe). `heartbeat`: send Celery's heartbeat events every 2 s, as
        `make run`'s workers do (off by default: most tests need none, and the events are extra broker traffic).
        `hostname`: the worker's node name (Celery's default is celery@ and this machine's name)."""
        purge_broker()
        self.output = output
        self._log: str | None = None
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(),
            **env,
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "-c", "1"]
        files = [(output / f"worker.{stream}").open("wb") for stream in ("stdout", "stderr")] if output else []
        self.process = subprocess.Popen(
            [
                *command,
                "-l",
                log_level or os.environ.get("TEST_WORKER_LOG_LEVEL", "WARNING"),
                "--without-gossip",
                "--without-mingle",
                *([] if heartbeat else ["--without-heartbeat"]),
                *(["--hostname", hostname] if hostname else []),
            ],
            cwd=ROOT,
            env=environment,
            stdout=files[0] if files else subprocess.DEVNULL,
            stderr=files[1] if files else subprocess.PIPE,
        )
        for file in files:
            file.close()  # the process has its own copies

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Return once the worker answers a remote-control ping: it is then consuming tasks."""
        wait_for(lambda: app.control.ping(timeout=0.5), timeout=timeout, what="the worker to answer a ping")
        wait_for(self.children, timeout=timeout, what="the worker's pool process")

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill_child(self) -> int:
        child = self.children()[0]
        os.kill(child, signal.SIGKILL)
        return child

    def wait_for(self, condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
        """`wait_for`, failing with the worker's log: what it said is what explains a job that never finished.
        The worker is stopped then (a later `stop` returns the same log)."""
        try:
            return wait_for(condition, timeout=timeout, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}. The worker's log:\n{self.stop()[-8000:]}") from None

    def stop(self) -> str:
        """Stop the worker (TERM, then KILL after 20 s) and return its log; once stopped, the same log again."""
        if self._log is not None:
            return self._log
        self.process.send_signal(signal.SIGTERM)
        try:
            _, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        if self.output:
            self._log = (self.output / "worker.stderr").read_text(errors="replace")
        else:
            self._log = err.decode(errors="replace")
        return self._log


def wait_for(condition: Callable[[], Any], *, timeout: float = 30.0, what: str = "the condition") -> Any:
    """Poll until `condition()` is truthy and return it; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)

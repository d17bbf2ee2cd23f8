"""A real web server for end-to-end tests: gunicorn serving the test database in a subprocess, as `make run` serves
the console, so that tests can measure what only a real server shows (its threads filling up, a worker's memory).
Tests that use it need `transactional_db`: the server sees only committed rows."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.worker import ROOT, database_url, wait_for


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


class ServerProcess:
    """`gunicorn config.wsgi` with one worker process and `threads` threads, on a free port of 127.0.0.1."""

    def __init__(
        self, *, threads: int = 4, options: tuple[str, ...] = (), output: Path | None = None, **env: str
    ) -> None:
        """`options` go to gunicorn's command line; with `output`, a folder, the server's standard output and
        error are written to web.stdout and web.stderr there (long runs would fill a pipe)."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(),
            **env,
        }
        command = [sys.executable, "-m", "gunicorn", *options, "config.wsgi", "--bind", f"127.0.0.1:{self.port}"]
        # No control socket: each gunicorn would take the one path per user from the others running beside it.
        command.append("--no-control-socket")
        self.output = output
        files = [(output / f"web.{stream}").open("wb") for stream in ("stdout", "stderr")] if output else []
        self.process = subprocess.Popen(
            [*command, "--workers", "1", "--threads", str(threads), "--timeout", "120"],
            cwd=ROOT,
            env=environment,
            stdout=files[0] if files else subprocess.DEVNULL,
            stderr=files[1] if files else subprocess.PIPE,
        )
        for file in files:
            file.close()  # the process has its own copies
        wait_for(self._answers, timeout=60, what="the web server to answer")

    def _answers(self) -> bool:
        try:
            self.call("GET", "/", timeout=5)
        except OSError:
            return False
        return True

    def call(
        self, method: str, path: str, body: Any = None, *, token: str = "", timeout: float = 60, **headers: str
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        sent = {**headers, **({"Authorization": f"Bearer {token}"} if token else {})}
        payload = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        started = time.monotonic()
        try:
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        return Answer(response.status, dict(response.getheaders()), content, time.monotonic() - started)

    def worker_pid(self) -> int:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        children = wait_for(lambda: path.read_text().split(), what="gunicorn's worker process")
        return int(children[0])

    def worker_rss(self) -> int:
        """The resident memory of the worker process, in bytes."""
        for line in Path(f"/proc/{self.worker_pid()}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc/<pid>/status")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        if self.output:
            return (self.output / "web.stderr").read_text(errors="replace")
        return err.decode(errors="replace")

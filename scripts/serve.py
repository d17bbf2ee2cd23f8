"""What `make run` does around honcho: one console per checkout, on a port that is free, announced once it is up.

    python scripts/serve.py check      # before anything is installed or started: is the port free, is no
                                       # other `make run` serving from this checkout? (standard library only)
    .venv/bin/python scripts/serve.py start      # lock, migrate, static files, first administrator, honcho
    .venv/bin/python scripts/serve.py announce   # a Procfile entry: waits for web, worker and scheduler, then
                                                 # prints the address and the first administrator's sign-in

HOST and PORT come from the environment (`make run PORT=8001`), else from `.env`, else 127.0.0.1:8000.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DEFAULTS = {"HOST": "127.0.0.1", "PORT": "8000", "APP_VAR_DIR": str(ROOT / "var")}
# Handed by `start` to the processes honcho runs (the Procfile reads the first two).
HOST_VAR, PORT_VAR = "MAKE_RUN_HOST", "MAKE_RUN_PORT"
READY_VAR, NEW_ADMIN_VAR = "MAKE_RUN_READY_DIR", "MAKE_RUN_NEW_ADMIN"
READY_FILES = ("worker", "beat")
READY_TIMEOUT_SECONDS = 180


def dotenv_values(path: Path) -> dict[str, str]:
    """The plain `NAME=value` lines of a `.env` file (what this script needs before anything is installed)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


def setting(name: str) -> str:
    # Real environment variables win over `.env`, as everywhere else.
    return os.environ.get(name) or dotenv_values(ROOT / ".env").get(name) or DEFAULTS[name]


def host() -> str:
    return setting("HOST")


def port() -> int:
    value = setting("PORT")
    if not value.isdigit() or not 0 < int(value) < 65536:
        fail(f"PORT must be a number from 1 to 65535, not {value!r}.")
    return int(value)


def var_dir() -> Path:
    path = Path(setting("APP_VAR_DIR"))
    return path if path.is_absolute() else ROOT / path


def url_of(address: str, number: int) -> str:
    shown = "127.0.0.1" if address in ("0.0.0.0", "") else address  # noqa: S104  # the wildcard is no address to visit
    return f"http://{shown}:{number}"


def base_url() -> str:
    return url_of(host(), port())


def fail(message: str) -> NoReturn:
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)


# --- one console per checkout --------------------------------------------------------------------------------


def lock_path() -> Path:
    return var_dir() / "run.lock"


def try_lock() -> int | None:
    """An open descriptor holding the checkout's run lock, or None when another `make run` holds it."""
    lock_path().parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_path(), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


def refuse_second_run() -> NoReturn:
    holder = lock_path().read_text().strip() or "unknown"
    fail(
        f"`make run` is already serving from this checkout (process {holder}; lock {lock_path()}). "
        "Stop it first (Ctrl-C in its terminal): two would run two workers and schedulers on one database."
    )


def port_taken(address: str, number: int) -> bool:
    """True when something listens on the address or the web server could not bind it."""
    try:
        with socket.create_connection((address or "127.0.0.1", number), timeout=1):
            return True
    except OSError:
        pass
    try:
        family = socket.getaddrinfo(address or None, number, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror:
        fail(f"HOST {address!r} is not an address of this machine.")
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As gunicorn binds: SO_REUSEADDR lets a port in TIME_WAIT be reused, never one that has a listener.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, number))
        except OSError:
            return True
    return False


def refuse_taken_port() -> None:
    if port_taken(host(), port()):
        fail(
            f"Port {port()} on {host()} is taken: stop what listens there, or choose another port, "
            f"e.g. `make run PORT={port() + 1}` (or PORT= in .env). Nothing was started."
        )


def check() -> None:
    descriptor = try_lock()
    if descriptor is None:
        refuse_second_run()
    os.close(descriptor)
    refuse_taken_port()


# --- start -----------------------------------------------------------------------------------------------------


def manage(*arguments: str, capture: bool = False) -> str:
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *arguments],
        cwd=ROOT,
        check=False,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    if done.returncode != 0:
        step = " ".join(arguments)
        fail(f"`manage.py {step}` failed (exit {done.returncode}): web, worker and scheduler were not started.")
    return done.stdout or ""


def start() -> NoReturn:
    descriptor = try_lock()
    if descriptor is None:
        refuse_second_run()
    refuse_taken_port()
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode())
    ready_dir = var_dir() / "run"
    ready_dir.mkdir(parents=True, exist_ok=True)
    for name in READY_FILES:
        (ready_dir / name).unlink(missing_ok=True)

    # Keys for a local console, made once and kept in var/local.env, which every process reads (config/env.py).
    subprocess.run([str(BIN / "python"), "-m", "config.keys", "local"], cwd=ROOT, check=True)
    print("Bringing the database up to date...", flush=True)
    manage("migrate", "--noinput", "--verbosity", "0")
    manage("collectstatic", "--noinput", "--verbosity", "0")
    created = manage("ensure_admin", "--url", f"{base_url()}/console/login/", capture=True).strip()
    if created:
        print("First administrator created: how to sign in is shown once everything is up.", flush=True)
    database = "DATABASE_URL" if os.environ.get("DATABASE_URL") else f"SQLite in {var_dir()}"
    broker = "REDIS_URL" if os.environ.get("REDIS_URL") else f"file system in {var_dir() / 'broker'}"
    print(f"Starting web ({base_url()}), worker and scheduler; database: {database}, broker: {broker}.", flush=True)
    environment = {
        **os.environ,
        HOST_VAR: host(),
        PORT_VAR: str(port()),
        READY_VAR: str(ready_dir),
        NEW_ADMIN_VAR: "1" if created else "",
    }
    # honcho inherits the lock, and holds it for as long as web, worker and scheduler run.
    os.set_inheritable(descriptor, True)
    honcho = str(BIN / "honcho")
    # honcho would read .env itself, with its own parser and its values over the real environment's; every process
    # reads it through the project's loader (config/env.py) instead.
    os.execve(honcho, [honcho, "--env", os.devnull, "--procfile", "Procfile", "start"], environment)  # noqa: S606


# --- announce ----------------------------------------------------------------------------------------------------


def wait_until_up(ready_dir: Path, deadline: float) -> list[str]:
    """What is still not up when the deadline passes (empty when everything is)."""
    while True:
        missing = [name for name in READY_FILES if not (ready_dir / name).exists()]
        try:
            socket.create_connection((os.environ[HOST_VAR] or "127.0.0.1", int(os.environ[PORT_VAR])), 1).close()
        except OSError:
            missing.insert(0, "web")
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.5)


def banner_lines(url: str, admin_file: Path, new_admin: bool) -> list[str]:
    lines = [
        f"AI Service Console is up: {url}/console/  (API docs: {url}/api/docs)",
        "Web, worker and scheduler are running; Ctrl-C stops all three.",
    ]
    if new_admin and admin_file.exists():
        lines += ["", *admin_file.read_text().strip().splitlines(), f"Kept in {admin_file} (readable only by you)."]
    elif admin_file.exists():
        lines.append(f"The first administrator's sign-in is in {admin_file}.")
    return lines


def framed(lines: list[str]) -> str:
    width = max(len(line) for line in lines)
    rule = "=" * (width + 4)
    return "\n".join([rule, *(f"| {line.ljust(width)} |" for line in lines), rule])


def announce() -> None:
    # honcho ends its processes with SIGTERM; Ctrl-C sends SIGINT to all of them at once. Neither is an error.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: sys.exit(0))
    ready_dir = Path(os.environ[READY_VAR])
    missing = wait_until_up(ready_dir, time.monotonic() + READY_TIMEOUT_SECONDS)
    if missing:
        print(f"Still not up after {READY_TIMEOUT_SECONDS}s: {', '.join(missing)}; see the lines above.", flush=True)
    url = url_of(os.environ[HOST_VAR], int(os.environ[PORT_VAR]))
    admin_file = var_dir() / "first-admin.txt"
    print(framed(banner_lines(url, admin_file, bool(os.environ.get(NEW_ADMIN_VAR)))), flush=True)
    # honcho stops everything when one of its processes ends: this one stays until they all stop.
    while True:
        signal.pause()


def main() -> None:
    commands = {"check": check, "start": start, "announce": announce}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        fail(f"usage: {sys.argv[0]} {'|'.join(commands)}")
    commands[sys.argv[1]]()


if __name__ == "__main__":
    main()

"""What `make run` does around honcho: one console per checkout, on a port that is free, announced once it is up.

    python scripts/serve.py check      # before anything is installed or started: is the port free, is no
                                       # other `make run` serving from this checkout? (standard library only)
    .venv/bin/python scripts/serve.py start      # lock, migrate, static files, first administrator, demo model
                                                 # settings, honcho
    .venv/bin/python scripts/serve.py announce   # a Procfile entry: waits for web, workers and scheduler, then
                                                 # prints the address and the first administrator's sign-in
    .venv/bin/python scripts/serve.py demo-model # a Procfile entry: the demo model agents answer with while no
                                                 # model endpoint is configured (PLATFORM_LLM_BASE_URL)

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
DEMO_PORT_VAR = "MAKE_RUN_DEMO_MODEL_PORT"
# The worker of exports and imports, the worker of agent runs (its own queue), the scheduler.
READY_FILES = ("worker", "agents", "beat")
READY_TIMEOUT_SECONDS = 180
# With no model endpoint configured, `make run` serves a deterministic demo model on loopback and points the
# installation's own provider (emporix_openai) at it, through these lines of var/local.env. DEMO_MODEL_PORT marks
# the lines as make run's own: an endpoint written there by hand is left alone.
MODEL_URL_VAR, EGRESS_VAR, DEMO_MARK_VAR = "PLATFORM_LLM_BASE_URL", "AGENT_EGRESS_ALLOWED_HOSTS", "DEMO_MODEL_PORT"
DEMO_HOST = "127.0.0.1"
DEMO_COMMENT = "# The demo model make run serves while no PLATFORM_LLM_BASE_URL is set (README: A first agent run)."


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


# --- the demo model ----------------------------------------------------------------------------------------------


def local_env_path() -> Path:
    return var_dir() / "local.env"


def configured(name: str) -> bool:
    """Set by whoever runs the console: in the environment or in `.env` (var/local.env is make run's own file)."""
    return bool(os.environ.get(name, "").strip() or dotenv_values(ROOT / ".env").get(name, "").strip())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((DEMO_HOST, 0))
        return int(probe.getsockname()[1])


def wire_demo_model() -> int | None:
    """The port the demo model is to serve on, with var/local.env pointing agents at it; None when a model
    endpoint is configured, and nothing is written. The port is kept from one start to the next (so the file
    changes only when it must), unless something else took it meanwhile."""
    path = local_env_path()
    local = dotenv_values(path)
    if configured(MODEL_URL_VAR) or (local.get(MODEL_URL_VAR) and not local.get(DEMO_MARK_VAR)):
        return None
    stored = local.get(DEMO_MARK_VAR, "")
    usable = stored.isdigit() and 0 < int(stored) < 65536 and not port_taken(DEMO_HOST, int(stored))
    port = int(stored) if usable else free_port()
    values = {DEMO_MARK_VAR: str(port), MODEL_URL_VAR: f"http://{DEMO_HOST}:{port}/v1"}
    # The model is on loopback, which agents may reach only when it is listed.
    if not configured(EGRESS_VAR) and not local.get(EGRESS_VAR):
        values[EGRESS_VAR] = DEMO_HOST
    if any(local.get(name) != value for name, value in values.items()):
        write_local_values(path, values)
    return port


def write_local_values(path: Path, values: dict[str, str]) -> None:
    """Set `values` in the env file at `path`, keeping its other lines; readable by its owner only, as the keys
    it holds require."""
    lines = path.read_text().splitlines() if path.exists() else []
    kept = [line for line in lines if line.removeprefix("export ").split("=", 1)[0].strip() not in values]
    if DEMO_COMMENT not in kept:
        kept.append(DEMO_COMMENT)
    text = "\n".join([*kept, *(f"{name}={value}" for name, value in values.items())]) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def idle() -> NoReturn:
    # honcho stops every process when one ends: a Procfile entry with nothing (left) to do waits to be stopped.
    while True:
        signal.pause()


def demo_model() -> NoReturn:
    """Serve the demo model on the port `start` chose, until make run stops. It refuses to serve unless DEBUG is
    on, so that no production installation ever answers with it; make run is local by construction, and turns
    DEBUG on for this one process only. If it stops on its own, the console keeps running without it."""
    port = os.environ.get(DEMO_PORT_VAR, "")
    child: subprocess.Popen[bytes] | None = None
    # Like the workers (config/celery.py), it ends with make run, however hurried the stop; and so does its child.
    # Imported here: the rest of this launcher runs on the standard library alone, before anything is installed.
    sys.path.insert(0, str(ROOT))
    from config.lifetime import end_with_parent

    end_with_parent()

    def stop(*_: object) -> NoReturn:
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait(timeout=10)
        sys.exit(0)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    if not port:
        print(f"{MODEL_URL_VAR} is set: agents use that model endpoint, and no demo model is started.", flush=True)
        idle()
    command = [str(BIN / "python"), "manage.py", "demo_model", "--port", port]
    # preexec_fn runs between fork and exec; this process has no other threads that it could deadlock with.
    child = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "DJANGO_DEBUG": "true"}, preexec_fn=end_with_parent)
    code = child.wait()
    print(
        f"The demo model stopped (exit {code}): agents on the provider emporix_openai fail until make run starts "
        "again. Web, workers and scheduler keep running.",
        flush=True,
    )
    idle()


# --- start -----------------------------------------------------------------------------------------------------


def metrics_dir() -> Path:
    """Where every process of this console writes its metrics (PROMETHEUS_MULTIPROC_DIR, config/settings/base.py)."""
    named = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or dotenv_values(ROOT / ".env").get("PROMETHEUS_MULTIPROC_DIR")
    if not named:
        return var_dir() / "metrics"
    path = Path(named)
    return path if path.is_absolute() else ROOT / path


def empty_metrics_dir() -> None:
    """Counts of an earlier run are not this run's: each process writes a file named after its process id, and one
    that a new process with a recycled id found would carry on from an old count. Only the library's own files go,
    whatever folder is named."""
    for path in metrics_dir().glob("*.db"):
        path.unlink(missing_ok=True)


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
    empty_metrics_dir()

    # Keys for a local console, made once and kept in var/local.env, which every process reads (config/env.py).
    subprocess.run([str(BIN / "python"), "-m", "config.keys", "local"], cwd=ROOT, check=True)
    print("Bringing the database up to date...", flush=True)
    manage("migrate", "--noinput", "--verbosity", "0")
    manage("collectstatic", "--noinput", "--verbosity", "0")
    created = manage("ensure_admin", "--url", f"{base_url()}/console/login/", capture=True).strip()
    if created:
        print("First administrator created: how to sign in is shown once everything is up.", flush=True)
    demo_port = wire_demo_model()
    database = "DATABASE_URL" if os.environ.get("DATABASE_URL") else f"SQLite in {var_dir()}"
    broker = "REDIS_URL" if os.environ.get("REDIS_URL") else f"file system in {var_dir() / 'broker'}"
    model = f"the demo model on port {demo_port}" if demo_port else MODEL_URL_VAR
    print(
        f"Starting web ({base_url()}), workers and scheduler; database: {database}, broker: {broker}, "
        f"agents' model: {model}.",
        flush=True,
    )
    environment = {
        **os.environ,
        HOST_VAR: host(),
        PORT_VAR: str(port()),
        READY_VAR: str(ready_dir),
        NEW_ADMIN_VAR: "1" if created else "",
        DEMO_PORT_VAR: str(demo_port or ""),
        # The folder emptied above, named for every process, so that none of them resolves it another way.
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir()),
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


def banner_lines(url: str, admin_file: Path, new_admin: bool, demo_port: str = "") -> list[str]:
    lines = [
        f"AI Service Console is up: {url}/console/  (API docs: {url}/api/docs)",
        "Web, workers and scheduler are running; Ctrl-C stops them all.",
    ]
    if demo_port:
        lines.append(
            f"Agents on the provider emporix_openai answer with a demo model (http://{DEMO_HOST}:{demo_port}/v1); "
            f"set {MODEL_URL_VAR} for a real one."
        )
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
    demo_port = os.environ.get(DEMO_PORT_VAR, "")
    print(framed(banner_lines(url, admin_file, bool(os.environ.get(NEW_ADMIN_VAR)), demo_port)), flush=True)
    idle()


def main() -> None:
    commands = {"check": check, "start": start, "announce": announce, "demo-model": demo_model}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        fail(f"usage: {sys.argv[0]} {'|'.join(commands)}")
    commands[sys.argv[1]]()


if __name__ == "__main__":
    main()

"""The project's entry points run as an operator runs them: manage.py, the web server (gunicorn on config.wsgi), and
Celery's worker and beat, each in a process of its own with only the environment a test gives it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from config import keys

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"

PRINT_SETTING = "from django.conf import settings; print(repr({}))"


def bare_environment(state: Path, **variables: str) -> dict[str, str]:
    """No setting at all: the loader's files are under `state` (its `.env` and `var/local.env`), never the project's."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(state),
        "LANG": "C.UTF-8",
        "APP_ENV_FILE": str(state / ".env"),
        "APP_VAR_DIR": str(state / "var"),
    }
    environment.update(variables)
    return environment


def write_env_file(path: Path, **variables: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{name}={value}\n" for name, value in variables.items()))
    return path


def good_keys() -> dict[str, str]:
    return keys.fresh_keys()


def run(command: list[str], environment: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )


def manage(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "python"), "manage.py", *arguments], environment)


def manage_setting(environment: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    """The repr of `expression` (over `settings`, django.conf's), as `manage.py shell` evaluates it."""
    return manage(environment, "shell", "--no-imports", "-c", PRINT_SETTING.format(expression))


def wsgi_setting(environment: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    """The same, in a process that loads the web server's application (config/wsgi.py) first."""
    code = "from config.wsgi import application; " + PRINT_SETTING.format(expression)
    return run([str(BIN / "python"), "-c", code], environment)


def celery_report(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`celery report` loads the app as the worker and beat do and prints its configuration."""
    return run([str(BIN / "celery"), "--app", "config", "report"], environment)


# The commands that start each long-running process; used to prove they refuse to start (they would run forever).
STARTS = {
    "web": [str(BIN / "gunicorn"), "config.wsgi", "--bind", "127.0.0.1:0", "--workers", "1"],
    "worker": [str(BIN / "celery"), "--app", "config", "worker", "--pool", "solo", "--without-mingle"],
    "beat": [str(BIN / "celery"), "--app", "config", "beat", "--schedule", "{state}/celerybeat-schedule"],
    "manage.py": [str(BIN / "python"), "manage.py", "check"],
}


def start(name: str, environment: dict[str, str], state: Path) -> subprocess.CompletedProcess[str]:
    command = [part.replace("{state}", str(state)) for part in STARTS[name]]
    return run(command, environment, timeout=60)

"""Reading settings from the environment, failing loudly on a value that cannot be right.

`load_env()` is the one configuration loader: manage.py, the web server (config/wsgi.py) and Celery's worker and
beat (config/celery.py) call it before anything reads a setting, so all of them see the same values: the real
environment first, then `.env` at the project root, then the local keys `make run` keeps in `var/local.env`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_KEYS_FILE_NAME = "local.env"


def load_env() -> None:
    """Fill in variables the environment does not set, from `.env` and then from the local keys file.

    Variables already set always win (override=False), so the order of the files is their precedence.
    """
    from dotenv import load_dotenv

    load_dotenv(env_file(), override=False)
    # After .env, which may move the state folder (APP_VAR_DIR).
    load_dotenv(local_keys_file(), override=False)


def env_file() -> Path:
    """The `.env` file: APP_ENV_FILE, or `.env` at the project root."""
    return _in_project(os.environ.get("APP_ENV_FILE") or ".env")


def var_dir() -> Path:
    """Where local state lives: APP_VAR_DIR (relative to the project root), or `var/`."""
    return _in_project(os.environ.get("APP_VAR_DIR") or "var")


def local_keys_file() -> Path:
    return var_dir() / LOCAL_KEYS_FILE_NAME


def _in_project(path: str) -> Path:
    # Relative paths are taken from the project root, not from wherever a command happens to be started.
    return BASE_DIR / Path(path).expanduser()


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if not value >= minimum:  # also refuses nan
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_database(name: str, default: str) -> dict[str, Any]:
    import dj_database_url

    raw = os.environ.get(name) or default
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True))
    except ValueError:
        raise ImproperlyConfigured(f"{name}={_without_password(raw)!r} is not a database URL") from None
    if not config.get("ENGINE"):
        raise ImproperlyConfigured(f"{name}={_without_password(raw)!r}: unsupported database scheme")
    return config


def env_redis_url(name: str) -> str | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"{name}={raw!r} must start with redis://, rediss:// or unix://")
    return raw


def _without_password(url: str) -> str:
    """The URL as it may appear in an error message: a password in it is masked."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)

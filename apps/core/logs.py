"""What every log line carries, and the two formats lines are written in.

`LOG_FORMAT=plain` (the default) writes lines for people; `LOG_FORMAT=json` writes one JSON object a line for a log
system: timestamp, level, logger, message, and the context the line was written in: the request id, the tenant, the
API client or console user, the job. The context lives in contextvars, set by the request middleware and the
authentication for a request (apps.core.middleware.RequestLogMiddleware) and by the task signals for a job's task in
the worker (config/celery.py), so the worker's lines about a job carry the id of the request that created it.
ContextFilter, on every handler, copies the context into each record: lines of third-party libraries carry it too.

Only the standard library and python-json-logger are imported here: gunicorn's master process configures its
logging from this module (config/gunicorn.py) before Django is loaded.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any

FORMATS = ("plain", "json")
# The context fields, in the order they appear in a JSON line; a field is present only when known.
FIELDS = ("request_id", "tenant", "client_id", "user_id", "job_id")
REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept when it is short and printable (a proxy's or a client's own trace id); anything else, which
# could forge or break log lines, is replaced by one of ours.
_ACCEPTED_REQUEST_ID = re.compile(r"[!-~]{1,128}")

# Each change sets a new mapping, never alters one: a context copied into a thread or a task stays as it was.
_context: ContextVar[Mapping[str, str]] = ContextVar("log_context", default=MappingProxyType({}))


def format_from_env() -> str:
    """LOG_FORMAT as every process reads it: the settings, gunicorn's master, Celery's app before the settings."""
    return os.environ.get("LOG_FORMAT", "plain").strip().lower()


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(header: str | None) -> str:
    """The request's id: the caller's `X-Request-ID` when it is acceptable, else a new one."""
    if header is not None and _ACCEPTED_REQUEST_ID.fullmatch(header):
        return header
    return new_request_id()


def current() -> dict[str, str]:
    """The context of the lines written now (a copy)."""
    return dict(_context.get())


def bind(**fields: str | None) -> None:
    """Add fields to the current context; None leaves a field as it is."""
    known = {name: str(value) for name, value in fields.items() if value is not None}
    unknown = set(known) - set(FIELDS)
    if unknown:
        raise ValueError(f"Not a log context field: {', '.join(sorted(unknown))}")
    if known:
        _context.set({**_context.get(), **known})


def enter(fields: Mapping[str, str | None]) -> Token[Mapping[str, str]]:
    """Start a new context, such as for a task taken from the queue: nothing of the one before is kept. `leave`
    with the token gives that one back."""
    token = _context.set({})
    bind(**fields)
    return token


def leave(token: Token[Mapping[str, str]]) -> None:
    _context.reset(token)


@contextmanager
def scope(**fields: str | None) -> Iterator[None]:
    """A context of its own for the lines of one request; the one before is back afterwards."""
    token = _context.set({})
    try:
        bind(**fields)
        yield
    finally:
        _context.reset(token)


# Where a request keeps the context it was handled in: Django logs its 4xx and 5xx answers (logger django.request)
# after the middleware has returned, with the request attached to the record.
REQUEST_ATTRIBUTE = "log_context"


class ContextFilter(logging.Filter):
    """Adds the known context fields to each record (a field the caller passed in `extra` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or getattr(getattr(record, "request", None), REQUEST_ATTRIBUTE, None) or {}
        for name, value in context.items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object a line; the fields a caller passes in `extra` are added to it."""
    from pythonjsonlogger.core import RESERVED_ATTRS
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,
        # Django's request loggers attach the request object, whose text is the full path with its query string.
        reserved_attrs=[*RESERVED_ATTRS, "request"],
    )


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """The `LOGGING` dict of every process: Django's settings, and gunicorn's master through config/gunicorn.py."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT={log_format!r}: use one of {', '.join(FORMATS)}")
    loggers: dict[str, dict[str, Any]] = {
        # django-axes announces itself at INFO in every process; its lockouts are WARNINGs and still show.
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    }
    if log_format == "json":
        # gunicorn gives its loggers handlers of their own and stops them propagating: in JSON its lines go through
        # the root's handler like every other. Its access log stays off: our middleware writes one line a request.
        loggers["gunicorn.error"] = {"handlers": [], "propagate": True}
        loggers["gunicorn.access"] = {"handlers": [], "propagate": False, "level": "WARNING"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "apps.core.logs.ContextFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "apps.core.logs.json_formatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["context"]},
        },
        "root": {"handlers": ["console"], "level": level.upper()},
        "loggers": loggers,
    }

"""Validating job history saved from the hosted service (`GET /jobs` output) before it is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.core.ids import ID_MAX_LENGTH, id_problem, object_id_time
from apps.core.timefmt import now_ms, parse_instant
from apps.jobs.models import Job

_ENUMS = {"type": Job.Type, "status": Job.Status, "agentType": Job.AgentType}
_STRINGS = {
    "sessionId": "session_id",
    "agentId": "agent_id",
    "message": "message",
    "commerceEvent": "commerce_event",
    "requestId": "request_id",
}
_OBJECTS = {"exportResult": "export_result", "importResult": "import_result"}


class HistoryError(ValueError):
    """The whole file is refused; the message says where and why."""


@dataclass(frozen=True)
class _Where:
    index: int
    job_id: str | None

    def __str__(self) -> str:
        return f"job #{self.index + 1}" + (f" (id {self.job_id})" if self.job_id else "")


def jobs_from_history(items: Any) -> list[Job]:
    """Unsaved Job rows (tenant not set) for a JSON array of published Job objects, or HistoryError."""
    if not isinstance(items, list):
        raise HistoryError("The file must hold a JSON array of jobs, as GET /jobs returns.")
    seen: set[str] = set()
    jobs = []
    for index, item in enumerate(items):
        job = _job(item, _Where(index, item.get("id") if isinstance(item, dict) else None))
        if job.job_id in seen:
            raise HistoryError(f"job #{index + 1}: id {job.job_id} appears more than once in the file.")
        seen.add(job.job_id)
        jobs.append(job)
    return jobs


def _job(item: Any, where: _Where) -> Job:
    if not isinstance(item, dict):
        raise HistoryError(f"{where}: must be a JSON object.")
    job_id = item.get("id")
    if not isinstance(job_id, str) or not job_id.strip():
        raise HistoryError(f"{where}: 'id' must be a non-empty string.")
    problem = id_problem(job_id)
    if problem:
        raise HistoryError(f"{where}: 'id' is not usable. {problem}")
    fields: dict[str, Any] = {"job_id": job_id}
    for name, choices in _ENUMS.items():
        fields[_column(name)] = _enum(item, name, choices, where, required=name != "agentType")
    for name, column in _STRINGS.items():
        fields[column] = _optional(item, name, str, where)
    for name, column in _OBJECTS.items():
        fields[column] = _optional(item, name, dict, where)
    fields.update(_metadata(item.get("metadata"), job_id, where))
    return Job(**fields)


def _column(name: str) -> str:
    return {"agentType": "agent_type"}.get(name, name)


def _enum(item: dict[str, Any], name: str, choices: Any, where: _Where, *, required: bool) -> str | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise HistoryError(f"{where}: '{name}' is {value!r}; it must be one of {allowed}.")
    return str(value)


# The widest values the columns hold: longer ids and larger versions are refused with a message, not a crash.
MAX_VERSION = 2**31 - 1


def _optional(item: dict[str, Any], name: str, kind: type, where: _Where) -> Any:
    value = item.get(name)
    if value is not None and not isinstance(value, kind):
        raise HistoryError(f"{where}: '{name}' must be a {'string' if kind is str else 'JSON object'}.")
    if name in ("agentId", "sessionId") and isinstance(value, str) and len(value) > ID_MAX_LENGTH:
        raise HistoryError(f"{where}: '{name}' is longer than {ID_MAX_LENGTH} characters.")
    return value


def _metadata(metadata: Any, job_id: str, where: _Where) -> dict[str, Any]:
    # Missing metadata parts get the values a new job would have had: the id's own time when it carries one.
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise HistoryError(f"{where}: 'metadata' must be a JSON object.")
    created = _instant(metadata, "createdAt", where) or object_id_time(job_id) or now_ms()
    modified = _instant(metadata, "modifiedAt", where) or created
    version = metadata.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= MAX_VERSION:
        raise HistoryError(f"{where}: 'metadata.version' must be a whole number from 1 to {MAX_VERSION}.")
    return {"created_at": created, "modified_at": modified, "version": version}


def _instant(metadata: dict[str, Any], name: str, where: _Where) -> datetime | None:
    value = metadata.get(name)
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return parse_instant(value)
    except ValueError:
        raise HistoryError(f"{where}: 'metadata.{name}' is {value!r}, not an ISO-8601 instant.") from None

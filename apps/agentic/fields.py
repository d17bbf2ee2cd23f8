"""How the API's request-log and session-log fields map to columns: for q, sort and fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.agentic.models import Severity
from apps.core.listing import FieldTree, SortKey
from apps.core.query import FieldKind, FieldSpec


@dataclass(frozen=True)
class LogFields:
    """What one kind of log offers a list: the fields to select, sort by and search, its default order and the
    column unique in a tenant that breaks ties (the last column of its listing index)."""

    tree: FieldTree
    sortable: dict[str, str]
    searchable: dict[str, FieldSpec]
    default_sort: tuple[SortKey, ...]
    tiebreak: str


_METADATA: dict[str, Any] = {"version": None, "createdAt": None, "modifiedAt": None}
_METADATA_SORT = {
    "metadata.version": "version",
    "metadata.createdAt": "created_at",
    "metadata.modifiedAt": "modified_at",
}
_METADATA_SEARCH = (
    FieldSpec("metadata.version", "version", FieldKind.INT, nullable=False),
    FieldSpec("metadata.createdAt", "created_at", FieldKind.DATETIME, nullable=False),
    FieldSpec("metadata.modifiedAt", "modified_at", FieldKind.DATETIME, nullable=False),
)
_SEVERITY = FieldSpec("severity", "severity", FieldKind.ENUM, tuple(Severity.values), nullable=False)
_NEWEST_FIRST = (SortKey("metadata.createdAt", True),)
# The published MetadataResponse requires all three of its fields, so metadata is always returned whole.
WHOLE_OBJECTS = frozenset({"metadata"})

REQUESTS = LogFields(
    tree={
        "id": None,
        "sessionId": None,
        "requestId": None,
        "triggerAgentId": None,
        "collaborationAgents": None,
        "severity": None,
        "messages": None,
        "duration": None,
        "metadata": _METADATA,
    },
    sortable={
        "id": "log_id",
        "sessionId": "session_id",
        "requestId": "request_id",
        "triggerAgentId": "trigger_agent_id",
        "severity": "severity_rank",  # INFO, WARNING, ERROR (apps.agentic.selectors)
        **_METADATA_SORT,
    },
    searchable={
        spec.name: spec
        for spec in (
            FieldSpec("id", "log_id", FieldKind.TEXT, nullable=False),
            FieldSpec("sessionId", "session_id", FieldKind.TEXT, nullable=False),
            FieldSpec("requestId", "request_id", FieldKind.TEXT, nullable=False),
            FieldSpec("triggerAgentId", "trigger_agent_id", FieldKind.TEXT, nullable=False),
            _SEVERITY,
            *_METADATA_SEARCH,
        )
    },
    default_sort=_NEWEST_FIRST,
    tiebreak="request_id",
)

SESSIONS = LogFields(
    tree={
        "sessionId": None,
        "triggerAgentId": None,
        "severity": None,
        "agents": None,
        "messages": None,
        "duration": None,
        "metadata": _METADATA,
    },
    sortable={
        "sessionId": "session_id",
        "triggerAgentId": "trigger_agent_id",
        "severity": "severity_rank",  # INFO, WARNING, ERROR (apps.agentic.selectors)
        **_METADATA_SORT,
    },
    searchable={
        spec.name: spec
        for spec in (
            FieldSpec("sessionId", "session_id", FieldKind.TEXT, nullable=False),
            FieldSpec("triggerAgentId", "trigger_agent_id", FieldKind.TEXT, nullable=False),
            _SEVERITY,
            *_METADATA_SEARCH,
        )
    },
    default_sort=_NEWEST_FIRST,
    tiebreak="session_id",
)

"""How the API's Job fields map to columns: for q, sort, fields and the representation."""

from __future__ import annotations

from apps.core.query import FieldKind, FieldSpec
from apps.jobs.models import Job

# API field -> column, for sorting and for choosing which columns a `fields` selection needs.
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("job_id",),
    "agentType": ("agent_type",),
    "status": ("status",),
    "type": ("type",),
    "exportResult": ("export_result",),
    "importResult": ("import_result",),
    "sessionId": ("session_id",),
    "agentId": ("agent_id",),
    "message": ("message",),
    "commerceEvent": ("commerce_event",),
    "requestId": ("request_id",),
    "metadata": ("version", "created_at", "modified_at"),
}

SORTABLE: dict[str, str] = {
    "id": "job_id",
    "agentType": "agent_type",
    "status": "status",
    "type": "type",
    "sessionId": "session_id",
    "agentId": "agent_id",
    "message": "message",
    "commerceEvent": "commerce_event",
    "requestId": "request_id",
    "metadata.version": "version",
    "metadata.createdAt": "created_at",
    "metadata.modifiedAt": "modified_at",
}

FIELD_TREE = {
    "id": None,
    "agentType": None,
    "status": None,
    "type": None,
    "exportResult": {"data": None, "checksum": None},
    "importResult": {"message": None, "summary": {"agents": None, "tools": None, "mcpServers": None}},
    "sessionId": None,
    "agentId": None,
    "message": None,
    "commerceEvent": None,
    "requestId": None,
    "metadata": {"version": None, "createdAt": None, "modifiedAt": None},
}
# The published MetadataResponse requires all three of its fields, so metadata is always returned whole.
WHOLE_OBJECTS = frozenset({"metadata"})


def _enum(name: str, lookup: str, choices: type[Job.Type | Job.Status | Job.AgentType]) -> FieldSpec:
    return FieldSpec(name, lookup, FieldKind.ENUM, tuple(str(c) for c in choices.values))


SEARCHABLE: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("id", "job_id", FieldKind.TEXT, nullable=False),
        _enum("agentType", "agent_type", Job.AgentType),
        FieldSpec("status", "status", FieldKind.ENUM, tuple(Job.Status.values), nullable=False),
        FieldSpec("type", "type", FieldKind.ENUM, tuple(Job.Type.values), nullable=False),
        FieldSpec("sessionId", "session_id", FieldKind.TEXT),
        FieldSpec("agentId", "agent_id", FieldKind.TEXT),
        FieldSpec("message", "message", FieldKind.TEXT),
        FieldSpec("commerceEvent", "commerce_event", FieldKind.TEXT),
        FieldSpec("requestId", "request_id", FieldKind.TEXT),
        FieldSpec("metadata.version", "version", FieldKind.INT, nullable=False),
        FieldSpec("metadata.createdAt", "created_at", FieldKind.DATETIME, nullable=False),
        FieldSpec("metadata.modifiedAt", "modified_at", FieldKind.DATETIME, nullable=False),
    )
}

"""A job row as the published Job schema shows it. Absent values are left out (the schema has no nulls)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core.timefmt import format_instant

_PLAIN = (
    ("agent_type", "agentType"),
    ("status", "status"),
    ("type", "type"),
    ("export_result", "exportResult"),
    ("import_result", "importResult"),
    ("session_id", "sessionId"),
    ("agent_id", "agentId"),
    ("message", "message"),
    ("commerce_event", "commerceEvent"),
)


def job_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    """Render a row of `Job.objects.values(...)`; only the columns present in the row are rendered."""
    out: dict[str, Any] = {"id": row["job_id"]}
    for column, name in _PLAIN:
        value = row.get(column)
        if value is not None:
            out[name] = value
    if "version" in row:
        out["metadata"] = {
            "version": row["version"],
            "createdAt": format_instant(row["created_at"]),
            "modifiedAt": format_instant(row["modified_at"]),
        }
    return out

"""A job as the published Job schema shows it (absent values are left out: the schema has no nulls), and the file
an export saves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core.timefmt import format_instant
from apps.jobs import selectors
from apps.jobs.models import Job
from apps.jobs.streaming import BundleData

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
    ("request_id", "requestId"),
)


def job_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    """Render a row of the job selectors (apps.jobs.selectors); only the columns present in the row are rendered,
    the instants already as text. A stored export bundle is rendered as a BundleData, read when the answer is sent
    (apps.jobs.streaming)."""
    out: dict[str, Any] = {"id": row["job_id"]}
    for column, name in _PLAIN:
        value = row.get(column)
        if value is not None:
            out[name] = value
    if row.get("bundle_size") is not None:
        data = BundleData(tenant_id=row["bundle_tenant"], job_pk=row["bundle_job"], size=row["bundle_size"])
        out["exportResult"] = {"data": data, "checksum": row["bundle_checksum"]}
    if "importResult" in out:
        out["importResult"] = published_import_result(out["importResult"])
    if "version" in row:
        out["metadata"] = {
            "version": row["version"],
            "createdAt": row["created"],
            "modifiedAt": row["modified"],
        }
    return out


def published_import_result(result: Any) -> Any:
    """The import result as the published Job schema has it.

    Its entity states are TO_CREATE, ENABLED, DISABLED and EXISTS; the newer FAILED is shown as TO_CREATE (the
    entity was not created and still has to be), its IMPORT_FAILED detail saying why. The import endpoint's own
    answer keeps FAILED."""
    if not isinstance(result, dict) or not isinstance(result.get("summary"), dict):
        return result
    summary = {
        section: [
            {**entity, "state": "TO_CREATE"} if isinstance(entity, dict) and entity.get("state") == "FAILED" else entity
            for entity in entities
        ]
        if isinstance(entities, list)
        else entities
        for section, entities in result["summary"].items()
    }
    return {**result, "summary": summary}


def export_file(*, job: Job) -> dict[str, Any] | None:
    """The file an export saves, as upstream's console does: {exportedAt, data, checksum}; None when the job is not
    a successful export, or holds no bundle. The export API answers with it too (plus the jobId), the console
    offers it as a download, and the import takes it back.

    The data of a stored bundle is a BundleData, read in chunks as the answer is sent."""
    if job.type != Job.Type.EXPORT or job.status != Job.Status.SUCCESS:
        return None
    exported_at = format_instant(job.completed_at)
    stored = selectors.export_bundle_size(job=job)
    if stored is not None:
        data = BundleData(tenant_id=job.tenant_id, job_pk=job.pk, size=stored[0])
        return {"exportedAt": exported_at, "data": data, "checksum": stored[1]}
    result = job.export_result  # exports loaded from a saved history keep theirs in the row
    if not isinstance(result, dict):
        return None
    if not isinstance(result.get("data"), str) or not isinstance(result.get("checksum"), str):
        return None
    return {"exportedAt": exported_at, "data": result["data"], "checksum": result["checksum"]}

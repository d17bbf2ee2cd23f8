"""Helpers of the job page tests: making jobs, and reading ids and links off the pages."""

from __future__ import annotations

import html
import re
from typing import Any

from apps.core.timefmt import format_instant, now_ms
from apps.jobs.models import Job
from apps.tenants.models import Tenant

BASE = "/console/acme"


def linked(job_id: str) -> str:
    """A job id as the pages' links hold it: percent-encoded whole, and that "%" encoded again by reverse()."""
    return job_id.replace("%", "%25").replace("/", "%252F")


EXPORT_DOC = {"formatVersion": 1, "agents": [{"id": "support", "name": {"en": "Support"}}], "tools": []}


def make(tenant: Tenant, **fields: Any) -> Job:
    fields.setdefault("type", Job.Type.AGENT_CHAT)
    return Job.objects.create(tenant=tenant, **fields)


def ids_on(response: Any) -> list[str]:
    """The job ids of the rows of the page's job tables, in order."""
    return [html.unescape(i) for i in re.findall(r'<tr data-job-id="([^"]*)"', response.content.decode())]


def link(response: Any, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)" rel="{rel}">', response.content.decode())
    return html.unescape(found.group(1)) if found else None


def pages(job: Job) -> list[str]:
    return [
        f"{BASE}/",
        f"{BASE}/counts.json",
        f"{BASE}/jobs/",
        f"{BASE}/jobs/status.json?id={job.job_id}",
        f"{BASE}/jobs/{job.job_id}/",
        f"{BASE}/audit/",
    ]


def actions(job: Job) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{BASE}/jobs/{job.job_id}/delete", {}),
        (f"{BASE}/jobs/{job.job_id}/retry", {}),
        (f"{BASE}/jobs/delete", {"mode": "selected", "id": [job.job_id]}),
        (f"{BASE}/jobs/delete", {"mode": "filter", "confirm": "yes", "until": format_instant(now_ms())}),
    ]

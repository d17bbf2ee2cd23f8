"""The console's job pages: dashboard, list, detail, export download, live status, audit trail.

Every view finds its tenant through `tenant_access`: another tenant's anything is a 404. The actions (POST) are
in apps/console/jobs/actions.py.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from apps.console.access import tenant_access
from apps.console.jobs import runs, selectors
from apps.console.jobs.forms import JobFilter
from apps.console.jobs.selectors import Cursor
from apps.core.budget import QueryTimeout, statement_budget
from apps.core.timefmt import format_instant
from apps.jobs import selectors as job_selectors
from apps.jobs.models import Job
from apps.jobs.representation import export_file
from apps.jobs.streaming import carries_bundle, streamed_json

SECTIONS = (("agents", "Agents"), ("tools", "Tools"), ("mcpServers", "MCP servers"))
# Shorter than the dashboard's polling interval (5 s), so that a dashboard alone always gets a fresh count.
COUNTS_SHARED_SECONDS = 4
# The live status endpoint answers for at most this many ids at once (a page of the list holds fewer).
STATUS_IDS_MAX = 200
# What a job's page shows that can change while it is open (see job_revision).
REVISION_FIELDS = ("status", "attempts", "modified_at", "dispatched_at", "started_at")


@login_required
@require_GET
def dashboard(request: HttpRequest, tenant: str) -> HttpResponse:
    access = tenant_access(request.user, tenant)
    counts = selectors.job_counts(tenant=access.tenant)
    context = {
        "access": access,
        "section": "dashboard",
        "statuses": Job.Status.values,
        "counts": _count_table(counts),
        "failures": selectors.job_recent(tenant=access.tenant, status=Job.Status.FAILURE),
        "recent": selectors.job_recent(tenant=access.tenant),
    }
    return render(request, "console/jobs/dashboard.html", context)


@login_required
@require_GET
def dashboard_counts(request: HttpRequest, tenant: str) -> JsonResponse:
    """The dashboard's counts, polled every few seconds by each open dashboard. They are kept by the database and
    cheap to read; still, dashboards open on the same tenant share one reading for a few seconds."""
    access = tenant_access(request.user, tenant)
    key = f"console:job-counts:{access.tenant.pk}"
    counts: dict[str, dict[str, int]] | None = cache.get(key)
    if counts is None:
        counts = selectors.job_counts(tenant=access.tenant)
        cache.set(key, counts, COUNTS_SHARED_SECONDS)
    return JsonResponse({"counts": counts, **_totals(counts)})


def _totals(counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    by_status = {status: sum(row.get(status, 0) for row in counts.values()) for status in Job.Status.values}
    by_type = {job_type: sum(row.values()) for job_type, row in counts.items()}
    return {"byStatus": by_status, "byType": by_type, "total": sum(by_type.values())}


def _count_table(counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    totals = _totals(counts)
    rows = [
        {
            "type": job_type,
            "cells": [(status, row.get(status, 0)) for status in Job.Status.values],
            "total": totals["byType"][job_type],
        }
        for job_type, row in counts.items()
    ]
    return {"rows": rows, "by_status": list(totals["byStatus"].items()), "total": totals["total"]}


@login_required
@require_GET
def job_list(request: HttpRequest, tenant: str) -> HttpResponse:
    access = tenant_access(request.user, tenant)
    job_filter = JobFilter(request.GET)
    form = job_filter.form
    context: dict[str, Any] = {"access": access, "section": "jobs", "form": form, "rows": [], "criteria": {}}
    if not job_filter.is_valid():
        # The page explains what is wrong with the filter, and lists nothing.
        return render(request, "console/jobs/list.html", context, status=400)
    try:
        with statement_budget(settings.CONSOLE_STATEMENT_TIMEOUT_MS):
            page = selectors.job_page(
                tenant=access.tenant,
                narrow=job_filter.narrow,
                newest_first=job_filter.newest_first,
                after=Cursor.decode(request.GET.get("after")),
                before=Cursor.decode(request.GET.get("before")),
            )
    except QueryTimeout as exc:
        form.add_error(None, f"Listing took longer than the {exc.seconds} s allowed: narrow the filter.")
        return render(request, "console/jobs/list.html", context, status=503)
    criteria = job_filter.criteria()
    if not job_filter.newest_first:
        criteria["sort"] = "oldest"
    base = reverse("console:jobs", args=[tenant])
    previous = _page_link(base, criteria, "before", page.previous)
    following = _page_link(base, criteria, "after", page.next)
    # rel="next" follows the list's order: towards older jobs when the newest come first.
    newer = {"url": previous, "rel": "prev"} if job_filter.newest_first else {"url": following, "rel": "next"}
    older = {"url": following, "rel": "next"} if job_filter.newest_first else {"url": previous, "rel": "prev"}
    context.update(rows=page.rows, criteria=job_filter.criteria(), newer=newer, older=older)
    return render(request, "console/jobs/list.html", context)


def _page_link(base: str, criteria: dict[str, str], name: str, cursor: Cursor | None) -> str | None:
    return None if cursor is None else f"{base}?{urlencode({**criteria, name: cursor.encode()})}"


@login_required
@require_GET
def job_statuses(request: HttpRequest, tenant: str) -> JsonResponse:
    """The status and message of the jobs named by `id` parameters, for pages that show jobs in progress. A page
    that follows an agent run's transcript names its job in `log`, with `after`, the last line it shows: the
    answer then holds the lines written since, and the run's usage."""
    access = tenant_access(request.user, tenant)
    job_ids = request.GET.getlist("id")[:STATUS_IDS_MAX]
    jobs = {
        row["job_id"]: {
            "status": row["status"],
            "message": row["message"],
            "modifiedAt": format_instant(row["modified_at"]),
            "finishedAt": format_instant(row["finished_at"]) if row["finished_at"] else None,
            "revision": job_revision(row),
        }
        for row in selectors.job_statuses(tenant=access.tenant, job_ids=job_ids)
    }
    body: dict[str, Any] = {"jobs": jobs}
    log_job = request.GET.get("log")
    if log_job:
        # Read after the statuses: a run that finished in between has written all its lines by then.
        body["log"] = runs.log_update(tenant=access.tenant, job_id=log_job, after=_line_id(request.GET.get("after")))
    return JsonResponse(body)


def job_revision(job: dict[str, Any]) -> str:
    """What a job's page depends on, as one string: a page that shows another revision is out of date. Starting
    and handing to the queue change neither the status nor modified_at, but they change the page (its timeline)."""
    stamps = (job["modified_at"], job["dispatched_at"], job["started_at"])
    return ";".join([job["status"], str(job["attempts"]), *(format_instant(s) if s else "" for s in stamps)])


def _line_id(text: str | None) -> int:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 19 else 0


@login_required
@require_GET
def job_detail(request: HttpRequest, tenant: str, job_id: str) -> HttpResponse:
    access = tenant_access(request.user, tenant)
    job = selectors.job_get(tenant=access.tenant, job_id=job_id)
    if job is None:
        raise Http404("No such job.")
    context = {
        "access": access,
        "section": "jobs",
        "job": job,
        "revision": job_revision({name: getattr(job, name) for name in REVISION_FIELDS}),
        "timeline": _timeline(job),
        "payload": _payload_summary(job),
        "import_sections": _import_sections(job.import_result),
        "import_message": (job.import_result or {}).get("message") if isinstance(job.import_result, dict) else None,
        "exported": _export_summary(job),
        "retries": selectors.job_retries(job=job),
        "retryable": access.can_act and job.retryable,
        "run": runs.run_panel(access=access, job=job) if job.type == Job.Type.AGENT_CHAT else None,
        # live.js drawing the open page again: messages waiting for the user are left for the next page they open.
        "keep_messages": request.headers.get("X-Live-Refresh") == "1",
    }
    return render(request, "console/jobs/detail.html", context)


def _timeline(job: Job) -> list[dict[str, Any]]:
    """What happened to the job, in order; steps still to come are listed last, without a time."""
    steps: list[dict[str, Any]] = [{"at": job.created_at, "label": "Created"}]
    if job.dispatched_at:
        steps.append({"at": job.dispatched_at, "label": "Handed to the workers' queue"})
    if job.started_at:
        note = f"attempt {job.attempts}" if job.attempts else ""
        steps.append({"at": job.started_at, "label": "Started by a worker", "note": note})
    if job.finished_at or job.status in Job.FINAL:
        steps.append({"at": job.completed_at, "label": f"Finished: {job.status}", "note": job.message or ""})
    steps.sort(key=lambda step: step["at"])
    if job.status == Job.Status.IN_PROGRESS:
        if job.payload is not None and not job.dispatched_at:
            steps.append({"at": None, "label": "Waiting to be handed to the workers' queue"})
        elif not job.started_at:
            steps.append({"at": None, "label": "Waiting for a worker"})
        else:
            steps.append({"at": None, "label": "Running"})
    return steps


def _payload_summary(job: Job) -> dict[str, Any] | None:
    """What the job was asked to do, in short: the payload can be a whole bundle."""
    payload = job.payload
    if payload is None:
        return None
    if job.type == Job.Type.AGENT_CHAT and isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return {"kind": "message", "text": _shortened(payload["message"], 4000)}
    if isinstance(payload, dict) and isinstance(payload.get("agentIds"), list):
        return {"kind": "agents", "agent_ids": [str(agent_id) for agent_id in payload["agentIds"]]}
    if isinstance(payload, dict) and "data" in payload:
        data = payload.get("data")
        size = len(data) if isinstance(data, str) else None
        return {"kind": "bundle", "chars": size, "checksum": payload.get("checksum")}
    return {"kind": "json", "text": _shortened(json.dumps(payload, indent=2, default=str), 4000)}


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _import_sections(result: Any) -> list[dict[str, Any]]:
    """The import summary as one table per section. States are shown as stored: FAILED stays FAILED here,
    where the published API shows it as TO_CREATE."""
    if not isinstance(result, dict) or not isinstance(result.get("summary"), dict):
        return []
    sections = []
    for key, label in SECTIONS:
        entities = result["summary"].get(key)
        entities = [e for e in entities if isinstance(e, dict)] if isinstance(entities, list) else []
        sections.append({"key": key, "label": label, "entities": entities})
    return sections


def _export_summary(job: Job) -> dict[str, Any] | None:
    """What the job page says of an export's bundle: its size and checksum, without reading it."""
    stored = job_selectors.export_bundle_size(job=job)
    if stored is not None:
        return {"chars": stored[0], "checksum": stored[1]}
    body = export_file(job=job)
    return {"chars": len(body["data"]), "checksum": body["checksum"]} if body is not None else None


@login_required
@require_GET
def job_export(request: HttpRequest, tenant: str, job_id: str) -> HttpResponseBase:
    access = tenant_access(request.user, tenant)
    job = selectors.job_get(tenant=access.tenant, job_id=job_id)
    body = export_file(job=job) if job is not None else None
    if job is None or body is None:
        raise Http404("No export to download for this job.")
    response: HttpResponseBase
    if carries_bundle(body):
        response = streamed_json(body)
    else:
        response = HttpResponse(json.dumps(body, indent=2) + "\n", content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(job)}"'
    return response


def export_filename(job: Job) -> str:
    # The id is opaque: anything but letters, digits, dots, dashes and underscores becomes an underscore.
    safe_id = re.sub(r"[^A-Za-z0-9._-]", "_", job.job_id)[:100]
    return f"agents-export-{safe_id}.json"


@login_required
@require_GET
def audit(request: HttpRequest, tenant: str) -> HttpResponse:
    access = tenant_access(request.user, tenant)
    with statement_budget(settings.CONSOLE_STATEMENT_TIMEOUT_MS):
        page = selectors.audit_page(tenant=access.tenant, after=request.GET.get("after"))
    older = f"{reverse('console:audit', args=[tenant])}?{urlencode({'after': page.older})}" if page.older else None
    paged = bool(request.GET.get("after"))  # not the first page: offer a way back to the newest events
    events = [{"event": event, "detail": _detail_items(event.detail)} for event in page.events]
    context = {"access": access, "section": "audit", "events": events, "older": older, "paged": paged}
    return render(request, "console/jobs/audit.html", context)


def _detail_items(detail: Any) -> list[tuple[str, str]]:
    """An audit event's detail as short (key, text) pairs: a bulk delete's ids can be a thousand long."""
    if not isinstance(detail, dict):
        return [("detail", _shortened(json.dumps(detail, default=str), 300))]
    items = []
    for key, value in detail.items():
        if isinstance(value, list):
            shown = ", ".join(str(v) for v in value[:20]) + (f" and {len(value) - 20} more" if len(value) > 20 else "")
        elif isinstance(value, dict):
            shown = ", ".join(f"{k}={v}" for k, v in value.items()) or "—"
        else:
            shown = str(value)
        items.append((str(key), _shortened(shown, 300)))
    return items

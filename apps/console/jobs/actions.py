"""The console's job actions: delete one, delete in bulk, retry (an agent run: rerun), cancel an agent run.
Managers only (`act=True`: a viewer gets 403, an outsider 404); each shows a confirmation first where it destroys
anything, changes state only on POST, and leaves an audit event (apps/console/jobs/services.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.console.access import TenantAccess, tenant_access
from apps.console.jobs import selectors, services
from apps.console.jobs.forms import JobFilter
from apps.core.ids import is_stored_id
from apps.core.timefmt import format_instant, now_ms, parse_instant
from apps.jobs.errors import JobNotRetryable
from apps.jobs.models import Job

# A selection comes from one page of the list; this bounds what a hand-made request can ask for.
SELECTION_MAX = 1000


def _job_or_404(access: TenantAccess, job_id: str) -> Job:
    job = selectors.job_get(tenant=access.tenant, job_id=job_id)
    if job is None:
        raise Http404("No such job.")
    return job


def _detail_url(tenant: str, job_id: str) -> str:
    return reverse("console:job-detail", args=[tenant, job_id])


@login_required
@require_http_methods(["GET", "POST"])
def job_delete(request: HttpRequest, tenant: str, job_id: str) -> HttpResponse:
    access = tenant_access(request.user, tenant, act=True)
    job = _job_or_404(access, job_id)
    if request.method == "GET":
        return render(request, "console/jobs/confirm_delete.html", {"access": access, "section": "jobs", "job": job})
    services.console_job_delete(user=request.user, job=job)
    messages.success(request, f"Deleted job {job.job_id}.")
    return redirect("console:jobs", tenant)


@login_required
@require_POST
def jobs_bulk_delete(request: HttpRequest, tenant: str) -> HttpResponse:
    """Delete the selected jobs (`mode=selected`, `id`s) or every job the list's filter matches (`mode=filter`,
    the filter's fields). Without `confirm=yes` it only counts and asks; the confirmation carries `until`, the
    instant of the count, so that jobs created after it are not deleted unseen."""
    access = tenant_access(request.user, tenant, act=True)
    job_filter = JobFilter(request.POST)
    context: dict[str, Any] = {"access": access, "section": "jobs", "form": job_filter.form}
    mode = request.POST.get("mode")
    if not job_filter.is_valid():
        return render(request, "console/jobs/confirm_bulk_delete.html", context, status=400)
    criteria = job_filter.criteria()
    back = f"{reverse('console:jobs', args=[tenant])}?{urlencode(criteria)}" if criteria else None
    back = back or reverse("console:jobs", args=[tenant])
    detail: dict[str, Any]
    ids: list[str] = []
    narrow = None
    if mode == "selected":
        # No job id holds a NUL, which PostgreSQL could not even compare with the ids it has.
        ids = list(dict.fromkeys(i for i in request.POST.getlist("id") if is_stored_id(i)))[:SELECTION_MAX]
        if not ids:
            messages.error(request, "Select the jobs to delete first.")
            return redirect(back)
        filters, detail = Q(job_id__in=ids), {"mode": "selected", "ids": ids}
    elif mode == "filter":
        filters, narrow, detail = Q(), job_filter.narrow, {"mode": "filter", "filter": criteria}
    else:
        context["problem"] = "Choose whether to delete the selected jobs or all jobs matching the filter."
        return render(request, "console/jobs/confirm_bulk_delete.html", context, status=400)
    confirmation = {"mode": mode, "ids": ids, "criteria": criteria, "described": job_filter.described(), "back": back}
    if request.POST.get("confirm") != "yes":
        until = now_ms()
        count = selectors.job_count_bounded(
            tenant=access.tenant, filters=filters & Q(created_at__lte=until), narrow=narrow
        )
        context.update(
            confirmation,
            count=count,
            over_limit=count > selectors.COUNT_LIMIT,
            limit=selectors.COUNT_LIMIT,
            until=format_instant(until),
        )
        return render(request, "console/jobs/confirm_bulk_delete.html", context)
    try:
        until = parse_instant(request.POST.get("until", ""))
    except ValueError:
        context["problem"] = "The confirmation is incomplete; start again from the job list."
        return render(request, "console/jobs/confirm_bulk_delete.html", context, status=400)
    jobs = selectors.job_matching(tenant=access.tenant, filters=filters & Q(created_at__lte=until), narrow=narrow)
    result = services.console_jobs_delete(user=request.user, tenant=access.tenant, jobs=jobs, detail=detail)
    so_far = result.count + _whole(request.POST.get("deleted"))
    if not result.done:
        # Out of time with jobs left: the page shows how far it got and posts itself again.
        context.update(confirmation, until=format_instant(until), deleted=so_far, continuing=True)
        return render(request, "console/jobs/confirm_bulk_delete.html", context)
    messages.success(request, f"Deleted {so_far:,} job{'s' if so_far != 1 else ''}.")
    return redirect(back)


def _whole(text: str | None) -> int:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 13 else 0


@login_required
@require_POST
def job_retry(request: HttpRequest, tenant: str, job_id: str) -> HttpResponse:
    access = tenant_access(request.user, tenant, act=True)
    job = _job_or_404(access, job_id)
    try:
        retry = services.console_job_retry(user=request.user, job=job)
    except JobNotRetryable as exc:
        messages.error(request, exc.message)
        return redirect(_detail_url(tenant, job.job_id))
    done = "rerun the agent run" if job.type == Job.Type.AGENT_CHAT else f"retry the {job.noun}"
    messages.success(request, f"Started job {retry.job_id} to {done} of job {job.job_id}.")
    return redirect(_detail_url(tenant, retry.job_id))


@login_required
@require_POST
def job_cancel(request: HttpRequest, tenant: str, job_id: str) -> HttpResponse:
    """Stop an agent run in progress: the job fails at once, saying who cancelled it, and the worker running it
    stops at its next step."""
    access = tenant_access(request.user, tenant, act=True)
    job = _job_or_404(access, job_id)
    if job.type != Job.Type.AGENT_CHAT:
        messages.error(request, f"Only agent runs can be cancelled, not {job.type} jobs.")
    elif services.console_job_cancel(user=request.user, job=job):
        messages.success(request, f"Cancelled job {job.job_id}.")
    else:
        messages.error(request, "This run has already finished; there is nothing to cancel.")
    return redirect(_detail_url(tenant, job.job_id))

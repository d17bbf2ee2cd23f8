"""Importing a saved export in the console: drop the file, see what the import would do, then start it.

The preview writes nothing: it runs the import's own rules in a transaction that is always rolled back
(services.import_preview). The bundle travels back to the server in the confirmation form and is checked again
there, as the API's import checks it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.console.access import TenantAccess, allow, tenant_access
from apps.console.catalogue import services
from apps.console.catalogue.forms import BundleConfirmForm, BundleUploadForm, CheckedBundle, carry_limit
from apps.console.catalogue.views import job_page
from apps.jobs.errors import JobError

SECTIONS = (("agents", "Agents"), ("tools", "Tools"), ("mcpServers", "MCP servers"))
STATES = ("ENABLED", "DISABLED", "EXISTS", "TO_CREATE", "FAILED")


@login_required
@allow("GET")
def import_start(request: HttpRequest, tenant: str) -> HttpResponse:
    access = tenant_access(request.user, tenant)
    return _upload_page(request, access, BundleUploadForm())


@login_required
@allow("POST")
def import_preview(request: HttpRequest, tenant: str) -> HttpResponse:
    access = tenant_access(request.user, tenant, act=True)
    form = BundleUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _upload_page(request, access, form, status=400)
    bundle: CheckedBundle = form.cleaned_data["bundle"]
    result = services.import_preview(tenant=access.tenant, document=bundle.document)
    summary: dict[str, list[dict[str, Any]]] = result.get("summary", {})
    context = {
        "access": access,
        "section": "import",
        "exported_at": bundle.exported_at,
        "message": result.get("message", ""),
        "sections": [
            {"key": key, "title": title, "entries": summary.get(key, []), "counts": _counts(summary.get(key, []))}
            for key, title in SECTIONS
        ],
        "confirm": BundleConfirmForm(initial={"bundle_data": bundle.data, "checksum": bundle.checksum}),
    }
    return render(request, "console/catalogue/import_preview.html", context)


@login_required
@allow("POST")
def import_confirm(request: HttpRequest, tenant: str) -> HttpResponse:
    access = tenant_access(request.user, tenant, act=True)
    form = BundleConfirmForm(request.POST)
    if not form.is_valid():
        return _upload_page(request, access, BundleUploadForm(), problems=form.non_field_errors() or None, status=400)
    bundle: CheckedBundle = form.cleaned_data["bundle"]
    try:
        job = services.console_agents_import(
            user=request.user, tenant=access.tenant, data=bundle.data, checksum=bundle.checksum
        )
    except JobError as exc:
        return _upload_page(request, access, BundleUploadForm(), problems=[exc.message], status=400)
    messages.success(request, f"Started job {job.job_id} to import the bundle.")
    return redirect(job_page(tenant, job.job_id))


def _upload_page(
    request: HttpRequest,
    access: TenantAccess,
    form: BundleUploadForm,
    *,
    problems: Any = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "access": access,
        "section": "import",
        "form": form,
        "problems": problems,
        "limit_mib": f"{carry_limit() / 1024 / 1024:.1f}",
    }
    return render(request, "console/catalogue/import.html", context, status=status)


def _counts(entries: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(state, n) for state in STATES if (n := sum(entry.get("state") == state for entry in entries))]

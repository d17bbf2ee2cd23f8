"""Export and import of agents: each creates a job and answers like upstream (200 with the result) by waiting
for the worker, or at once with 202 and the job to watch (`Prefer: respond-async`, RFC 7240, or a wait that ran
out)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Scope
from apps.agents.bundle import bundle_decode
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record_api
from apps.core.errors import ApiError, error_body
from apps.core.timefmt import format_instant
from apps.jobs import selectors, services
from apps.jobs.api import schema
from apps.jobs.api.errors import job_errors_answered
from apps.jobs.models import Job
from apps.jobs.representation import export_file
from apps.jobs.streaming import carries_bundle, streamed_json
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_get

_PREFER = OpenApiParameter(
    "Prefer",
    str,
    OpenApiParameter.HEADER,
    description="`respond-async` answers 202 with the job at once; `wait=N` waits at most N seconds.",
)
View = TypeVar("View", bound=Callable[..., HttpResponseBase])
_ERRORS: dict[int | str, Any] = {
    202: OpenApiResponse(
        {"$ref": "#/components/schemas/JobIdResponse"},
        description="The job was created and runs on; its Location is in the header of that name.",
    ),
    400: OpenApiResponse(schema.ERROR, description="The request is not valid; nothing was created."),
    401: OpenApiResponse(schema.FAULT, description="No valid access token."),
    403: OpenApiResponse(schema.ERROR, description="Another tenant's path, or a missing scope."),
    413: OpenApiResponse(schema.ERROR, description="The body is larger than IMPORT_MAX_BYTES; nothing was created."),
    429: OpenApiResponse(
        schema.ERROR,
        description="The tenant has JOB_MAX_IN_PROGRESS_PER_TENANT exports and imports in progress; try again after "
        "the Retry-After header's seconds.",
    ),
    500: OpenApiResponse(schema.ERROR, description="The job failed; the message says why."),
}


def _operation(name: str, summary: str, description: str, answer: str) -> Callable[[View], View]:
    """The published operation `POST-ai-<name>-agents`, whose bodies are the schemas `<Name>Request` and
    `<Name>Response`."""
    schemas = "#/components/schemas/" + name.capitalize()
    return extend_schema(
        operation_id=f"POST-ai-{name}-agents",
        summary=summary,
        description=description,
        tags=["Import/Export"],
        parameters=[_PREFER],
        request={"application/json": {"$ref": f"{schemas}Request"}},
        responses={200: OpenApiResponse({"$ref": f"{schemas}Response"}, description=answer), **_ERRORS},
    )


class AgentExportView(APIView):
    required_scopes = {"POST": Scope.AGENT_READ.value}

    @_operation(
        "export",
        "Export agents",
        "Bundles the agents, the agents they hand off to, and the tools and MCP servers they use.",
        "The export.",
    )
    def post(self, request: Request, tenant: str) -> HttpResponseBase:
        agent_ids = _agent_ids(_body(request).get("agentIds"))
        with job_errors_answered():
            job = services.export_start(tenant=_tenant(tenant), agent_ids=agent_ids)
        _audit(request, job, AuditEvent.Action.AGENTS_EXPORT, {"agentIds": agent_ids})
        return _answer(request, job, _export_body)


class AgentImportView(APIView):
    required_scopes = {"POST": Scope.AGENT_MANAGE.value}

    @_operation(
        "import",
        "Import agents",
        "Checks the bundle, then creates its agents (disabled), tools and MCP servers in this tenant.",
        "What was imported.",
    )
    def post(self, request: Request, tenant: str) -> HttpResponseBase:
        body = _body(request)
        with job_errors_answered():
            job = services.import_start(tenant=_tenant(tenant), data=body.get("data"), checksum=body.get("checksum"))
        _audit(request, job, AuditEvent.Action.AGENTS_IMPORT, _imported_agents(body))
        return _answer(request, job, _import_body)


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ApiError("The body must be a JSON object.", field="body")
    return request.data


def _tenant(name: str) -> Tenant:
    tenant = tenant_get(name=name)
    if tenant is None:  # the permission check already refused tokens of other tenants
        raise ApiError("No such tenant.", code=403)
    return tenant


def _agent_ids(value: Any) -> list[str]:
    limit = settings.EXPORT_MAX_AGENTS
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ApiError("agentIds must be a list of agent ids (non-empty strings).", field="agentIds")
    ids = list(dict.fromkeys(value))
    if not 1 <= len(ids) <= limit:
        raise ApiError(f"agentIds must name between 1 and {limit} agents; it names {len(ids)}.", field="agentIds")
    return ids


def _answer(request: Request, job: Job, render: Any) -> HttpResponseBase:
    asynchronous, wait = _preference(request.headers.get("Prefer", ""))
    # A request waits only while few others do (services.job_wait_begin); past that it answers 202 at once, as
    # when a wait runs out, so that waiting requests never fill the web server's threads.
    waits = not asynchronous and wait > 0 and services.job_wait_begin(job=job, seconds=wait)
    finished = selectors.job_wait(tenant=job.tenant, job_pk=job.pk, timeout=wait) if waits else None
    if finished is not None and finished.status == Job.Status.SUCCESS:
        body = render(finished)
        return streamed_json(body) if carries_bundle(body) else Response(body)
    if finished is not None and finished.status == Job.Status.FAILURE:
        details = [{"field": "jobId", "type": "job", "message": finished.job_id}]
        return Response(error_body(500, finished.message or "The job failed.", details=details), status=500)
    response = Response({"jobId": job.job_id}, status=202)
    response["Location"] = f"/ai-service/{job.tenant.name}/jobs/{job.job_id}"
    if asynchronous:
        response["Preference-Applied"] = "respond-async"
    return response


def _preference(header: str) -> tuple[bool, float]:
    """(respond-async asked, seconds to wait) from a Prefer header such as `respond-async, wait=5`."""
    tokens = [token.strip().lower() for token in header.split(",")]
    wait = float(settings.JOB_WAIT_SECONDS)
    for token in tokens:
        match = re.fullmatch(r"wait\s*=\s*(\d+(?:\.\d+)?)", token)
        if match:
            wait = min(wait, float(match.group(1)))
    return "respond-async" in tokens, wait


def _export_body(job: Job) -> dict[str, Any]:
    # A finished export of this installation always holds its bundle; were it gone, the answer still has the shape.
    saved = export_file(job=job) or {"exportedAt": format_instant(job.completed_at), "data": "", "checksum": ""}
    return {key: saved[key] for key in ("data", "checksum", "exportedAt")} | {"jobId": job.job_id}


def _import_body(job: Job) -> dict[str, Any]:
    result = job.import_result or {}
    return {
        "summary": result.get("summary", {}),
        "message": result.get("message", ""),
        "importedAt": format_instant(job.completed_at),
        "jobId": job.job_id,
    }


# --- the audit trail: who exported or imported, through which API client -----------------------------------------


def _audit(request: Request, job: Job, action: AuditEvent.Action, detail: dict[str, Any]) -> None:
    # Once the job exists, before waiting for it: the attempt is recorded whatever the job's outcome.
    audit_record_api(principal=request.auth, tenant=job.tenant, action=action, object_id=job.job_id, detail=detail)


def _imported_agents(body: dict[str, Any]) -> dict[str, Any]:
    """What the console's import records: the bundle's agent ids (the first 100) and how many there are. The
    bundle was checked when its job was made; a second decode here cannot fail."""
    agents = bundle_decode(body.get("data"), body.get("checksum")).get("agents", [])
    return {"agentIds": [entry["id"] for entry in agents][:100], "agents": len(agents)}

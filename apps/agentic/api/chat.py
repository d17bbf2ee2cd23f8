"""Chat with an agent: `chat-async` answers 201 with the AGENT_CHAT job at once; `chat` waits for the run and
answers with the agent's reply. Both make the same job, which a worker runs (queue `agents`)."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Scope
from apps.accounts.principal import ApiPrincipal
from apps.agentic import services
from apps.agentic.api import schema
from apps.agentic.errors import RunError, ScopeMissing, SessionNotOwned
from apps.agentic.representation import chat_representation
from apps.core.api import ERROR_RESPONSES, path_tenant
from apps.core.errors import ApiError, error_body
from apps.core.ids import ID_MAX_LENGTH
from apps.jobs import selectors as job_selectors
from apps.jobs import services as job_services
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_get

RUN = (Scope.AGENT_EXECUTION_MANAGE.value, Scope.AGENT_EXECUTION_MANAGE_OWN.value)
SESSION_HEADER = "session-id"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

_SESSION_PARAMETER = OpenApiParameter(
    SESSION_HEADER,
    str,
    OpenApiParameter.HEADER,
    description="The conversation to go on with (a uuid); a new one is made when absent.",
)
_BODY = {"application/json": {"$ref": "#/components/schemas/AgenticRequest"}}
_ERRORS: dict[int | str, Any] = {
    **ERROR_RESPONSES,
    400: OpenApiResponse(
        schema.ERROR,
        description="The body or the session-id header is not valid, or the agent cannot be chatted "
        "with (unknown, disabled, no endpoint trigger); the message says which.",
    ),
    403: OpenApiResponse(
        schema.ERROR,
        description="Another tenant's path, a missing scope, a caller the agent's requiredScopes do not admit, or "
        "a session another caller started (a token with only ai.agentexecution_manage_own continues its own).",
    ),
}


class ChatAsyncView(APIView):
    required_scopes = {"POST": RUN}

    @extend_schema(
        operation_id="POST-ai-agents-chat-async",
        summary="Chat with an agent, answered later",
        description="Starts a run of the agent on the message and answers at once with its AGENT_CHAT job; the "
        "job's `message` is the agent's answer once its `status` is `success` (or the reason on `failure`).",
        tags=["Agent Chat"],
        parameters=[_SESSION_PARAMETER],
        request=_BODY,
        responses={
            201: OpenApiResponse(schema.JOB_ID, description="The run's job, in progress."),
            **_ERRORS,
            500: OpenApiResponse(schema.ERROR, description="Internal error."),
        },
    )
    def post(self, request: Request, tenant: str) -> Response:
        job = _start(request, tenant)
        response = Response({"jobId": job.job_id}, status=201)
        response["Location"] = _job_path(job)
        return response


class ChatView(APIView):
    required_scopes = {"POST": RUN}

    @extend_schema(
        operation_id="POST-ai-agents-chat",
        summary="Chat with an agent",
        description="Runs the agent on the message and answers with its reply, waiting for the run up to "
        "AGENT_CHAT_WAIT_SECONDS. A run still going then is answered 202, in the error shape, with the job to poll "
        "(`jobId`, and the Location header); the run goes on.",
        tags=["Agent Chat"],
        parameters=[_SESSION_PARAMETER],
        request=_BODY,
        responses={
            200: OpenApiResponse(schema.CHAT_ANSWER, description="The agent's answer."),
            202: OpenApiResponse(
                schema.ERROR,
                description="The run outlasted the wait and goes on: poll the job named by `jobId` (and in the "
                "Location header). Do not send the message again: that would run the agent twice.",
            ),
            **_ERRORS,
            409: OpenApiResponse(schema.ERROR, description="The run's job was deleted (cancelled) before it ended."),
            500: OpenApiResponse(schema.ERROR, description="The run failed; the message says why, `jobId` which job."),
        },
    )
    def post(self, request: Request, tenant: str) -> Response:
        job = _start(request, tenant)
        wait = float(settings.AGENT_CHAT_WAIT_SECONDS)
        # Only so many requests wait at once (job_wait_begin): past that, the answer is the job to poll.
        waits = wait > 0 and job_services.job_wait_begin(job=job, seconds=wait)
        finished = job_selectors.job_wait(tenant=job.tenant, job_pk=job.pk, timeout=wait) if waits else job
        if finished is None:
            message = f"The run was cancelled: its job {job.job_id} was deleted before the agent answered."
            return Response(error_body(409, message, details=_job_detail(job)), status=409)
        if finished.status == Job.Status.SUCCESS:
            return Response(chat_representation(finished))
        if finished.status in Job.FINAL:
            message = finished.message or "The agent run failed."
            return Response(error_body(500, message, details=_job_detail(job)), status=500)
        return _still_running(job, wait if waits else 0)


def _start(request: Request, tenant_name: str) -> Job:
    body = _body(request)
    session_id = _session_id(request.headers.get(SESSION_HEADER))
    principal = request.auth
    scopes = principal.scopes if isinstance(principal, ApiPrincipal) else frozenset()
    tenant: Tenant = path_tenant(tenant_get(name=tenant_name))
    try:
        return services.chat_start(
            tenant=tenant,
            agent_id=body["agentId"],
            message=body["message"],
            session_id=session_id,
            scopes=scopes,
            caller=_caller(principal),
            attachments=body.get("attachments"),
        )
    except (ScopeMissing, SessionNotOwned) as exc:
        raise ApiError(exc.message, code=403, field=exc.field) from None
    except RunError as exc:
        raise ApiError(exc.message, field=exc.field) from None


def _caller(principal: object) -> str:
    """Who owns the sessions a caller starts: the end user an external token names, or else the API client."""
    if not isinstance(principal, ApiPrincipal):
        return ""
    return f"sub:{principal.subject}" if principal.subject else f"client:{principal.client_id}"


def _body(request: Request) -> dict[str, Any]:
    """The AgenticRequest, checked: each mistake is a 400 naming its field."""
    body = request.data
    if not isinstance(body, dict):
        raise ApiError('The body must be a JSON object such as {"agentId": "...", "message": "..."}.', field="body")
    agent_id, message = body.get("agentId"), body.get("message")
    if not isinstance(agent_id, str) or not agent_id.strip():
        raise ApiError("agentId must be the id of an agent (a non-empty string).", field="agentId")
    if len(agent_id) > ID_MAX_LENGTH or "\x00" in agent_id:
        raise ApiError(f"No agent with id {agent_id[:ID_MAX_LENGTH]}… in this tenant.", field="agentId")
    if not isinstance(message, str) or not message.strip():
        raise ApiError("message must be what to say to the agent (a non-empty string).", field="message")
    if "\x00" in message:
        raise ApiError("message must not hold a NUL character.", field="message")
    return {"agentId": agent_id, "message": message, "attachments": _attachments(body.get("attachments"))}


def _attachments(value: Any) -> list[dict[str, str]] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ApiError("attachments must be a list of objects with an attachmentId.", field="attachments")
    out: list[dict[str, str]] = []
    for index, item in enumerate(value):
        where = f"attachments.{index}"
        if not isinstance(item, dict) or not isinstance(item.get("attachmentId"), str) or not item["attachmentId"]:
            raise ApiError("Each attachment must be an object with an attachmentId (a string).", field=where)
        for name in ("caption", "purpose"):
            if name in item and not isinstance(item[name], str):
                raise ApiError(f"An attachment's {name} must be a string.", field=f"{where}.{name}")
        out.append({k: item[k] for k in ("attachmentId", "caption", "purpose") if k in item})
    return out


def _session_id(header: str | None) -> str:
    """The session-id header as a lower-case uuid; a new session when there is none."""
    if header is None or not header.strip():
        return services.new_session_id()
    value = header.strip()
    if not _UUID.fullmatch(value):
        raise ApiError(
            "The session-id header must be a uuid such as 3f2b8c1e-5d4a-4e8f-9b1c-2a7d6e0f4c3b.", field=SESSION_HEADER
        )
    return value.lower()


def _job_path(job: Job) -> str:
    return f"/ai-service/{job.tenant.name}/jobs/{job.job_id}"


def _job_detail(job: Job) -> list[dict[str, str]]:
    return [{"field": "jobId", "type": "job", "message": job.job_id}]


def _still_running(job: Job, waited: float) -> Response:
    """202: the request was taken and the run goes on. A 2xx, so that no client or proxy sends the message again
    (a second run of the agent), in the error shape the published operation allows, naming the job to poll."""
    message = (
        f"The agent is still answering after {waited:g} s; its answer will be the message of job {job.job_id}: "
        f"poll GET {_job_path(job)} until its status is success."
    )
    body = error_body(202, message, details=_job_detail(job)) | {"jobId": job.job_id}
    response = Response(body, status=202)
    response["Location"] = _job_path(job)
    return response

"""Writes of the catalogue pages: each goes through the service the API uses and leaves an audit event in the
same transaction. The import preview writes too, and always rolls back."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from apps.accounts.models import ApiClient
from apps.accounts.services import IssuedClient, api_client_create, api_client_revoke
from apps.agentic.errors import AgentNotRunnable
from apps.agentic.services import chat_problem, new_session_id, run_create
from apps.agents import services as agent_services
from apps.agents.api.serializers import validate_upsert
from apps.agents.bundle import bundle_decode
from apps.agents.errors import ResourceError
from apps.agents.importing import bundle_apply
from apps.agents.models import Agent, Kind
from apps.agents.names import KIND_NAMES, with_article
from apps.agents.representation import AnyResource
from apps.agents.services import Upsert
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.console.catalogue import selectors
from apps.jobs import services as job_services
from apps.jobs.models import Job
from apps.tenants.models import Tenant


class AlreadyExists(ResourceError):
    pass


class ResourceGone(ResourceError):
    pass


@sensitive_variables("upsert")
def console_resource_save(
    *, user: Any, tenant: Tenant, kind: Kind, public_id: str, upsert: Upsert, create: bool
) -> None:
    """Create (`create`) or replace a resource through the API's upsert. The API's PUT does either; a page that
    says "create" must not replace, nor may "save" bring back a resource deleted meanwhile: the transaction is
    rolled back when the upsert did the other thing, so two people at once cannot overwrite each other."""
    noun = KIND_NAMES[kind]
    with transaction.atomic():
        created = agent_services.resource_upsert(tenant=tenant, kind=kind, public_id=public_id, upsert=upsert)
        if create and not created:
            raise AlreadyExists(
                f"There already is {with_article(noun)} with id {public_id}; open it to edit it.", field="id"
            )
        if created and not create:
            raise ResourceGone(f"The {noun} {public_id} was deleted meanwhile; nothing was saved.", field="id")
        audit_record(
            user=user,
            tenant=tenant,
            action=AuditEvent.Action.RESOURCE_SAVE,
            object_id=public_id,
            detail={"kind": kind.value, "created": created},
        )


def console_resource_enable(*, user: Any, tenant: Tenant, resource: AnyResource, enabled: bool, version: int) -> bool:
    """Enable or disable an agent, tool or MCP server: its stored representation with `enabled` changed, checked
    by the API's serializer (a ValidationError if the stored one no longer passes) and written by its upsert at
    `version`, the one the page showed (VersionConflict if it changed since). False: it already was (a second
    click, or someone else's), and nothing was written."""
    if getattr(resource, "enabled", None) == enabled:
        return False
    kind = Kind(resource.kind)
    upsert = replace(validate_upsert(kind, {**resource.body, "enabled": enabled}), version=version)
    with transaction.atomic():
        agent_services.resource_upsert(tenant=tenant, kind=kind, public_id=resource.public_id, upsert=upsert)
        audit_record(
            user=user,
            tenant=tenant,
            action=AuditEvent.Action.RESOURCE_SAVE,
            object_id=resource.public_id,
            detail={"kind": kind.value, "created": False, "enabled": enabled},
        )
    return True


def console_resource_delete(*, user: Any, tenant: Tenant, kind: Kind, public_id: str, force: bool) -> None:
    """Delete through the API's service (refused with ResourceInUse while others use it, unless `force`); the
    audit event names the resources it was detached from."""
    with transaction.atomic():
        dependants = selectors.resource_used_by(tenant=tenant, kind=kind, public_id=public_id)
        agent_services.resource_delete(tenant=tenant, kind=kind, public_id=public_id, force=force)
        audit_record(
            user=user,
            tenant=tenant,
            action=AuditEvent.Action.RESOURCE_DELETE,
            object_id=public_id,
            detail={
                "kind": kind.value,
                "force": force,
                "detachedFrom": [{"kind": d.kind.value, "id": d.public_id} for d in dependants.items],
            },
        )


def console_agents_export(*, user: Any, tenant: Tenant, agent_ids: list[str]) -> Job:
    """An EXPORT job (refused with a JobError for ids the tenant does not have, or too many jobs in progress)."""
    with transaction.atomic():
        job = job_services.export_start(tenant=tenant, agent_ids=agent_ids)
        audit_record(
            user=user,
            tenant=tenant,
            action=AuditEvent.Action.AGENTS_EXPORT,
            object_id=job.job_id,
            detail={"agentIds": agent_ids},
        )
    return job


def console_agents_import(*, user: Any, tenant: Tenant, data: str, checksum: str) -> Job:
    """An IMPORT job for the bundle, checked again here (refused with a JobError if it does not check out)."""
    with transaction.atomic():
        job = job_services.import_start(tenant=tenant, data=data, checksum=checksum)
        agents = bundle_decode(data, checksum).get("agents", [])
        audit_record(
            user=user,
            tenant=tenant,
            action=AuditEvent.Action.AGENTS_IMPORT,
            object_id=job.job_id,
            detail={"agentIds": [entry["id"] for entry in agents][:100], "agents": len(agents)},
        )
    return job


class _Preview(Exception):
    """Leaves the preview's transaction, taking the result with it and everything written back out."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__("import preview")
        self.result = result


def import_preview(*, tenant: Tenant, document: dict[str, Any]) -> dict[str, Any]:
    """What importing the checked bundle would do now, as bundle_apply's ImportResult; nothing is kept.

    The import itself runs, so the preview applies exactly the rules the job will (ids taken, tokens missing,
    tools that cannot be imported); the exception rolls all of it back. Agents whose id is taken show a new
    id here that the real import will not reuse."""
    try:
        with transaction.atomic():
            raise _Preview(bundle_apply(tenant=tenant, document=document))
    except _Preview as preview:
        return preview.result


def console_api_client_create(*, user: Any, tenant: Tenant, name: str, scopes: list[str]) -> IssuedClient:
    with transaction.atomic():
        issued = api_client_create(tenant=tenant, scopes=scopes, name=name)
        audit_record(
            user=user,
            tenant=tenant,
            action=AuditEvent.Action.CLIENT_CREATE,
            object_id=issued.client.client_id,
            detail={"name": issued.client.name, "scopes": issued.client.allowed_scopes},
        )
    return issued


def console_api_client_revoke(*, user: Any, client: ApiClient) -> None:
    with transaction.atomic():
        api_client_revoke(client=client)
        audit_record(
            user=user,
            tenant=client.tenant,
            action=AuditEvent.Action.CLIENT_REVOKE,
            object_id=client.client_id,
            detail={"name": client.name},
        )


def console_agent_try(*, user: Any, tenant: Tenant, agent: Agent, message: str, session_id: str | None) -> Job:
    """Start a run of `agent` on `message` (the Try it panel), as chat-async does: an AGENT_CHAT job a worker
    runs, in the session given or a new one. Refused with AgentNotRunnable as the chat endpoints refuse it."""
    problem = chat_problem(agent)
    if problem is not None:
        raise AgentNotRunnable(problem, field="agentId")
    with transaction.atomic():
        job = run_create(tenant=tenant, agent=agent, message=message, session_id=session_id or new_session_id())
        audit_record(
            user=user,
            tenant=tenant,
            action=AuditEvent.Action.AGENT_RUN,
            object_id=agent.public_id,
            detail={"jobId": job.job_id, "sessionId": job.session_id, "requestId": job.request_id},
        )
    return job

"""Applying a checked export bundle to a tenant, by the import rules of the published API.

- Tools and MCP servers whose id the tenant already has are reused (EXISTS).
- New ones are created ENABLED, or DISABLED when a token they need is not in the tenant (MISSING_TOKEN).
- Slack and Teams tools are bound to a workspace and cannot be imported: TO_CREATE, NOT_IMPORTABLE.
- Agents always start disabled (DISABLED, AGENT_IMPORTED_DISABLED); one whose id is taken gets a new id, and the
  collaborations inside the bundle follow it.
- An entity that fails is FAILED (IMPORT_FAILED) and the rest goes on: each entity is written in its own
  savepoint. The caller runs the whole in one transaction, so an import is applied entirely or not at all.
- A bundle's checksum only says which installation made it, not that what it holds is valid: each entity goes
  through the API's own validation (its id by apps.core.ids, its body by the PUT's serializers), and one that
  fails it is FAILED with the fields at fault.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError, transaction
from rest_framework.exceptions import ValidationError

from apps.agents.api.serializers import validate_upsert
from apps.agents.models import Agent, Kind, McpServer, Token, Tool
from apps.agents.references import references_add, references_of, references_sync
from apps.agents.representation import columns_from_body, display_name
from apps.core.errors import validation_details  # the API's own field names
from apps.core.ids import id_problem, is_stored_id, new_object_id
from apps.tenants.models import Tenant

logger = logging.getLogger(__name__)

NOT_IMPORTABLE_TOOLS = frozenset({Tool.Type.SLACK, Tool.Type.TEAMS})
MAX_PROBLEMS_SHOWN = 10


class EntityRejected(Exception):
    """An entity of the bundle that this tenant cannot hold; `problems` say why, one message each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _check_id(public_id: str) -> None:
    problem = id_problem(public_id)
    if problem:
        raise EntityRejected([f"id: {problem}"])


def _validated(kind: Kind, entry: dict[str, Any]) -> dict[str, Any]:
    """The entity's body exactly as the API's PUT would store it, or EntityRejected naming each field at fault."""
    try:
        return validate_upsert(kind, _body(entry)).body
    except ValidationError as exc:
        raise EntityRejected(
            [f"{d['field']}: {d['message']}" for d in validation_details(exc.detail)][:MAX_PROBLEMS_SHOWN]
        ) from None


@dataclass
class Outcome:
    id: str
    name: str
    state: str
    details: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "state": self.state}
        if self.details:
            out["details"] = self.details
        return out


@dataclass
class _Context:
    tenant: Tenant
    token_names: dict[str, str]  # token id -> name, from the bundle, to name missing tokens
    tokens_here: set[str]
    usable: dict[Kind, set[str]] = field(default_factory=dict)  # tools / MCP servers an agent may point to
    names: dict[str, str] = field(default_factory=dict)  # tool and MCP server id -> name, from the bundle
    existing: dict[Kind, set[str]] = field(default_factory=dict)  # bundle ids the tenant already has
    not_importable: set[str] = field(default_factory=set)  # Slack and Teams tools of the bundle


def bundle_apply(*, tenant: Tenant, document: dict[str, Any]) -> dict[str, Any]:
    """Write the bundle into the tenant; returns the ImportResult (`summary` and `message`)."""
    context = _Context(
        tenant=tenant,
        token_names={token["id"]: _printable(str(token.get("name", ""))) for token in document.get("tokens", [])},
        tokens_here=set(Token.objects.filter(tenant=tenant).values_list("public_id", flat=True)),
        names={
            entry["id"]: _printable(display_name(entry.get("name")))
            for entry in [*document.get("tools", []), *document.get("mcpServers", [])]
        },
    )
    for kind, model, section in ((Kind.TOOL, Tool, "tools"), (Kind.MCP_SERVER, McpServer, "mcpServers")):
        ids = [entry["id"] for entry in document.get(section, []) if is_stored_id(entry["id"])]
        context.existing[kind] = set(
            model.objects.filter(tenant=tenant, public_id__in=ids).values_list("public_id", flat=True)
        )
    tools = [_component(context, Kind.TOOL, entry) for entry in document.get("tools", [])]
    servers = [_component(context, Kind.MCP_SERVER, entry) for entry in document.get("mcpServers", [])]
    agents = _import_agents(context, document.get("agents", []))
    summary = {
        "agents": [outcome.as_dict() for outcome in agents],
        "tools": [outcome.as_dict() for outcome in tools],
        "mcpServers": [outcome.as_dict() for outcome in servers],
    }
    return {"summary": summary, "message": summary_message(agents, tools, servers)}


def _component(context: _Context, kind: Kind, entry: dict[str, Any]) -> Outcome:
    return _guarded(context, kind, entry, partial(_import_component, context, kind, entry))


def _guarded(context: _Context, kind: Kind, entry: dict[str, Any], write: Callable[[], Outcome]) -> Outcome:
    try:
        with transaction.atomic():  # a savepoint: a failed entity leaves nothing behind
            return write()
    except (SoftTimeLimitExceeded, OperationalError):
        raise  # the whole import stops: out of time, or the database is gone
    except EntityRejected as exc:  # expected: the entity's own problems are in its details, no traceback needed
        return _failed(entry, exc)
    except Exception as exc:  # one broken entity must not stop the rest of the import
        logger.exception("Import of %s %s into %s failed", kind, entry.get("id"), context.tenant.name)
        return _failed(entry, exc)


def _import_component(context: _Context, kind: Kind, entry: dict[str, Any]) -> Outcome:
    public_id, name = entry["id"], display_name(entry.get("name"))
    _check_id(public_id)
    if public_id in context.existing[kind]:
        context.usable.setdefault(kind, set()).add(public_id)
        detail = _detail("ALREADY_EXISTS", public_id, name, "The tenant already has it; the existing one is used.")
        return Outcome(public_id, name, "EXISTS", [detail])
    if kind == Kind.TOOL and entry.get("type") in NOT_IMPORTABLE_TOOLS:
        context.not_importable.add(public_id)
        return Outcome(public_id, name, "TO_CREATE", [_not_importable(public_id, name, entry["type"])])
    body = _validated(kind, entry)
    missing = _missing_tokens(context, kind, body)
    body["enabled"] = not missing
    _create(context.tenant, kind, public_id, body)
    context.usable.setdefault(kind, set()).add(public_id)
    return Outcome(public_id, name, "DISABLED" if missing else "ENABLED", missing)


def _import_agents(context: _Context, entries: list[dict[str, Any]]) -> list[Outcome]:
    taken = set(
        Agent.objects.filter(
            tenant=context.tenant, public_id__in=[entry["id"] for entry in entries if is_stored_id(entry["id"])]
        ).values_list("public_id", flat=True)
    )
    new_ids = {entry["id"]: (new_object_id() if entry["id"] in taken else entry["id"]) for entry in entries}
    outcomes = [
        _guarded(context, Kind.AGENT, entry, partial(_import_agent, context, entry, new_ids)) for entry in entries
    ]
    failed = {
        new_ids[entry["id"]]: entry["id"] for entry, o in zip(entries, outcomes, strict=True) if o.state == "FAILED"
    }
    for outcome in outcomes:
        if failed and outcome.state != "FAILED":
            _drop_failed_collaborators(context, outcome, failed)
    return outcomes


def _drop_failed_collaborators(context: _Context, outcome: Outcome, failed: dict[str, str]) -> None:
    """An agent must not hand off to one whose import failed: that collaboration is removed, saying so."""
    agent = Agent.objects.get(tenant=context.tenant, public_id=outcome.id)
    collaborations = [c for c in agent.body.get("agentCollaborations") or [] if isinstance(c, dict)]
    dropped = [c for c in collaborations if c.get("agentId") in failed]
    if not dropped:
        return
    body = {**agent.body, "agentCollaborations": [c for c in collaborations if c not in dropped]}
    Agent.objects.filter(pk=agent.pk).update(body=body)  # still part of its creation: version stays 1
    references_sync(tenant=context.tenant, kind=Kind.AGENT, public_id=agent.public_id, body=body)
    message = "That agent could not be imported, so this one no longer hands off to it."
    for collaboration in dropped:
        outcome.details.insert(-1, _detail("IMPORT_FAILED", failed[collaboration["agentId"]], "", message))


def _import_agent(context: _Context, entry: dict[str, Any], new_ids: dict[str, str]) -> Outcome:
    original, public_id, name = entry["id"], new_ids[entry["id"]], display_name(entry.get("name"))
    _check_id(original)
    _check_id(public_id)
    body = _validated(Kind.AGENT, entry)
    body["enabled"] = False
    details = _unusable_attachments(context, body)
    details += _missing_tokens(context, Kind.AGENT, body)
    for collaboration in body.get("agentCollaborations") or []:
        if isinstance(collaboration, dict) and collaboration.get("agentId") in new_ids:
            collaboration["agentId"] = new_ids[collaboration["agentId"]]
    _create(context.tenant, Kind.AGENT, public_id, body)
    if public_id != original:
        details.insert(
            0, _detail("ALREADY_EXISTS", original, name, f"An agent with id {original} exists; imported as new.")
        )
    details.append(_detail("AGENT_IMPORTED_DISABLED", public_id, name, "Imported agents start disabled."))
    return Outcome(public_id, name, "DISABLED", details)


def _unusable_attachments(context: _Context, body: dict[str, Any]) -> list[dict[str, str]]:
    """Drop the agent's links to tools and MCP servers that were not imported (and are not in the tenant)."""
    details: list[dict[str, str]] = []
    tools = [ref for ref in body.get("nativeTools") or [] if isinstance(ref, dict)]
    kept_tools = [ref for ref in tools if ref.get("id") in context.usable.get(Kind.TOOL, set())]
    for ref in tools:
        if ref not in kept_tools:
            tool_id = str(ref.get("id"))
            code = "NOT_IMPORTABLE" if tool_id in context.not_importable else "IMPORT_FAILED"
            message = "The tool was not imported, so the agent no longer uses it."
            details.append(_detail(code, tool_id, context.names.get(tool_id, ""), message))
    if "nativeTools" in body:
        body["nativeTools"] = kept_tools
    servers = [item for item in body.get("mcpServers") or [] if isinstance(item, dict)]
    kept_servers = [item for item in servers if _server_usable(context, item)]
    for item in servers:
        if item not in kept_servers:
            server_id = str((item.get("mcpServer") or {}).get("id"))
            message = "The MCP server was not imported, so the agent no longer uses it."
            details.append(_detail("IMPORT_FAILED", server_id, context.names.get(server_id, ""), message))
    if "mcpServers" in body:
        body["mcpServers"] = kept_servers
    return details


def _server_usable(context: _Context, attachment: dict[str, Any]) -> bool:
    if attachment.get("type") not in ("custom", "dynamic"):
        return True  # predefined servers belong to the platform, not the tenant
    server = attachment.get("mcpServer")
    return isinstance(server, dict) and server.get("id") in context.usable.get(Kind.MCP_SERVER, set())


def _missing_tokens(context: _Context, kind: Kind, body: dict[str, Any]) -> list[dict[str, str]]:
    needed = sorted(target for target_kind, target in references_of(kind, body) if target_kind == Kind.TOKEN)
    return [
        _detail(
            "MISSING_TOKEN",
            token_id,
            context.token_names.get(token_id, ""),
            f"The tenant has no token {token_id}; create it, then enable this.",
        )
        for token_id in needed
        if token_id not in context.tokens_here
    ]


def _create(tenant: Tenant, kind: Kind, public_id: str, body: dict[str, Any]) -> None:
    models: dict[Kind, type[Agent] | type[Tool] | type[McpServer]] = {
        Kind.AGENT: Agent,
        Kind.TOOL: Tool,
        Kind.MCP_SERVER: McpServer,
    }
    models[kind].objects.create(tenant=tenant, public_id=public_id, body=body, **columns_from_body(kind, body))
    references_add(tenant=tenant, kind=kind, public_id=public_id, body=body)


def _body(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key not in ("id", "metadata")}


def _failed(entry: dict[str, Any], exc: Exception) -> Outcome:
    public_id, name = _printable(str(entry.get("id"))), _printable(display_name(entry.get("name")))
    reason = "; ".join(exc.problems) if isinstance(exc, EntityRejected) else type(exc).__name__
    message = f"Could not be imported ({_printable(reason, 2000)}); the rest of the import went on."
    return Outcome(public_id, name, "FAILED", [_detail("IMPORT_FAILED", public_id, name, message)])


def _printable(text: str, limit: int = 300) -> str:
    """Text from a rejected entity, safe to store and show: NUL and lone surrogates, which PostgreSQL refuses in
    the job's result, and other control characters are written as escapes; and no longer than a column."""
    return "".join(
        f"\\u{ord(c):04x}" if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or 0xD800 <= ord(c) <= 0xDFFF else c
        for c in text[:limit]
    )


def _not_importable(public_id: str, name: str, tool_type: str) -> dict[str, str]:
    label = {"slack": "Slack", "teams": "Microsoft Teams"}.get(tool_type, tool_type)
    message = f"{label} tools are bound to a workspace and cannot be imported; create this tool in the tenant."
    return _detail("NOT_IMPORTABLE", public_id, name, message)


def _detail(code: str, object_id: str, object_name: str, message: str) -> dict[str, str]:
    detail = {"code": code, "objectId": object_id, "message": message}
    if object_name:
        detail["objectName"] = object_name
    return detail


def summary_message(agents: list[Outcome], tools: list[Outcome], servers: list[Outcome]) -> str:
    everything = agents + tools + servers
    created = [o for o in tools + servers if o.state in ("ENABLED", "DISABLED")]
    parts = [
        f"{_count(sum(o.state != 'FAILED' for o in agents), 'agent')} imported (disabled)",
        f"{_count(len(created), 'tool or MCP server', 'tools or MCP servers')} created",
    ]
    for state, label in (("EXISTS", "already existed"), ("TO_CREATE", "must be created by hand")):
        count = sum(o.state == state for o in everything)
        if count:
            parts.append(f"{count} {label}")
    disabled = sum(o.state == "DISABLED" for o in created)
    if disabled:
        parts.append(f"{disabled} created disabled for a missing token")
    failed = sum(o.state == "FAILED" for o in everything)
    if failed:
        parts.append(f"{_count(failed, 'entity', 'entities')} failed")
    return "; ".join(parts) + "."


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"

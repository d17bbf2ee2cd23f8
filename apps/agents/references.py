"""What a resource uses of others, read from its API representation, and kept in `Reference`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from apps.agents.models import Kind, Reference
from apps.tenants.models import Tenant

# Keys under which a configuration names a token as `{"id": ...}`: tools' `token`, MCP servers' and self-hosted
# LLMs' `authorizationHeaderToken`, API-key LLMs' `token`.
TOKEN_KEYS = frozenset({"token", "authorizationHeaderToken"})


@dataclass(frozen=True)
class ReferenceField:
    """One use of another resource: where it is in the representation (a dot path), and what it names."""

    path: str
    target_kind: Kind
    target_id: str


def reference_fields(kind: Kind, body: dict[str, Any]) -> list[ReferenceField]:
    """Every use of another resource in the representation of a resource of `kind`, in document order."""
    found = [ReferenceField(path, Kind.TOKEN, token_id) for path, token_id in _token_ids(body, "")]
    if kind == Kind.AGENT:
        for i, ref in _dicts(body.get("nativeTools")):
            if _is_id(ref.get("id")):
                found.append(ReferenceField(f"nativeTools.{i}.id", Kind.TOOL, ref["id"]))
        for i, attachment in _dicts(body.get("mcpServers")):
            server = _attached_server(attachment)
            if server is not None:
                found.append(ReferenceField(f"mcpServers.{i}.mcpServer.id", Kind.MCP_SERVER, server))
        for i, collaboration in _dicts(body.get("agentCollaborations")):
            if _is_id(collaboration.get("agentId")):
                found.append(ReferenceField(f"agentCollaborations.{i}.agentId", Kind.AGENT, collaboration["agentId"]))
    return found


def references_of(kind: Kind, body: dict[str, Any]) -> set[tuple[Kind, str]]:
    """The (kind, id) pairs a resource of `kind` with this representation uses."""
    return {(field.target_kind, field.target_id) for field in reference_fields(kind, body)}


def references_unassign(kind: Kind, body: dict[str, Any], target_kind: Kind, target_id: str) -> dict[str, Any]:
    """A copy of the representation without its uses of one resource: list entries that name it are removed,
    token references to it are dropped from their objects."""
    if target_kind == Kind.TOKEN:
        result: dict[str, Any] = _without_token(body, target_id)
        return result
    out = dict(body)
    if kind == Kind.AGENT and target_kind == Kind.TOOL and isinstance(body.get("nativeTools"), list):
        out["nativeTools"] = [
            ref for ref in body["nativeTools"] if not (isinstance(ref, dict) and ref.get("id") == target_id)
        ]
    if kind == Kind.AGENT and target_kind == Kind.MCP_SERVER and isinstance(body.get("mcpServers"), list):
        out["mcpServers"] = [
            item for item in body["mcpServers"] if not (isinstance(item, dict) and _attached_server(item) == target_id)
        ]
    if kind == Kind.AGENT and target_kind == Kind.AGENT and isinstance(body.get("agentCollaborations"), list):
        out["agentCollaborations"] = [
            item
            for item in body["agentCollaborations"]
            if not (isinstance(item, dict) and item.get("agentId") == target_id)
        ]
    return out


def references_sync(*, tenant: Tenant, kind: Kind, public_id: str, body: dict[str, Any]) -> None:
    """Rewrite what the resource uses. Call inside the transaction that writes the resource."""
    Reference.objects.filter(tenant=tenant, source_kind=kind, source_id=public_id).delete()
    references_add(tenant=tenant, kind=kind, public_id=public_id, body=body)


def references_add(*, tenant: Tenant, kind: Kind, public_id: str, body: dict[str, Any]) -> None:
    """Record what a resource that has just been created uses (it cannot have references yet)."""
    Reference.objects.bulk_create(
        Reference(tenant=tenant, source_kind=kind, source_id=public_id, target_kind=target_kind, target_id=target)
        for target_kind, target in sorted(references_of(kind, body))
    )


def references_drop(*, tenant: Tenant, kind: Kind, public_id: str) -> None:
    Reference.objects.filter(tenant=tenant, source_kind=kind, source_id=public_id).delete()


def _token_ids(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if key in TOKEN_KEYS and isinstance(item, dict) and _is_id(item.get("id")):
                yield f"{here}.id", item["id"]
            else:
                yield from _token_ids(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _token_ids(item, f"{path}.{i}" if path else str(i))


def _without_token(value: Any, token_id: str) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_token(item, token_id)
            for key, item in value.items()
            if not (key in TOKEN_KEYS and isinstance(item, dict) and item.get("id") == token_id)
        }
    if isinstance(value, list):
        return [_without_token(item, token_id) for item in value]
    return value


def _attached_server(attachment: dict[str, Any]) -> str | None:
    """The id of the MCP server a custom or dynamic attachment names (predefined ones name none)."""
    server = attachment.get("mcpServer")
    if attachment.get("type") in ("custom", "dynamic") and isinstance(server, dict) and _is_id(server.get("id")):
        return str(server["id"])
    return None


def _dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and value != ""

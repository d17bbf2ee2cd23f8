"""What a resource uses of others, read from its API representation, and kept in `Reference`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from apps.agents.models import Kind, Reference
from apps.tenants.models import Tenant

# Keys under which a configuration names a token as `{"id": ...}`: tools' `token`, MCP servers' and self-hosted
# LLMs' `authorizationHeaderToken`, API-key LLMs' `token`.
TOKEN_KEYS = frozenset({"token", "authorizationHeaderToken"})


def references_of(kind: Kind, body: dict[str, Any]) -> set[tuple[Kind, str]]:
    """The (kind, id) pairs a resource of `kind` with this representation uses."""
    found = {(Kind.TOKEN, token_id) for token_id in _token_ids(body)}
    if kind == Kind.AGENT:
        found |= {(Kind.TOOL, ref["id"]) for ref in _dicts(body.get("nativeTools")) if _is_id(ref.get("id"))}
        for attachment in _dicts(body.get("mcpServers")):
            server = attachment.get("mcpServer")
            if attachment.get("type") in ("custom", "dynamic") and isinstance(server, dict):
                found |= {(Kind.MCP_SERVER, server["id"])} if _is_id(server.get("id")) else set()
        for collaboration in _dicts(body.get("agentCollaborations")):
            if _is_id(collaboration.get("agentId")):
                found.add((Kind.AGENT, collaboration["agentId"]))
    return found


def references_sync(*, tenant: Tenant, kind: Kind, public_id: str, body: dict[str, Any]) -> None:
    """Rewrite what the resource uses. Call inside the transaction that writes the resource."""
    Reference.objects.filter(tenant=tenant, source_kind=kind, source_id=public_id).delete()
    Reference.objects.bulk_create(
        Reference(tenant=tenant, source_kind=kind, source_id=public_id, target_kind=target_kind, target_id=target)
        for target_kind, target in sorted(references_of(kind, body))
    )


def references_drop(*, tenant: Tenant, kind: Kind, public_id: str) -> None:
    Reference.objects.filter(tenant=tenant, source_kind=kind, source_id=public_id).delete()


def _token_ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in TOKEN_KEYS and isinstance(item, dict) and _is_id(item.get("id")):
                yield item["id"]
            else:
                yield from _token_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _token_ids(item)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and value != ""

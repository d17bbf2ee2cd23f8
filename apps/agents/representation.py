"""A resource's API representation, and the columns copied out of it.

`body` holds the whole representation except `id` and `metadata` (and, for tokens, the value, which is kept
encrypted in its own column). The columns name, enabled, type and agent_type are copies of body fields, kept
for search, sort and constraints: `columns_from_body` is the one place that derives them.
"""

from __future__ import annotations

from typing import Any

from apps.agents.models import Agent, Kind, McpServer, Token, Tool
from apps.core.timefmt import format_instant

AnyResource = Agent | Tool | McpServer | Token


def display_name(name: Any) -> str:
    """Agents have localized names ({"en": ..., "de": ...}): the English one, else the first, is the one
    searched and sorted on."""
    if isinstance(name, dict):
        if isinstance(name.get("en"), str):
            return str(name["en"])
        return next((str(value) for value in name.values() if isinstance(value, str)), "")
    return str(name) if name is not None else ""


def columns_from_body(kind: Kind, body: dict[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {"name": display_name(body.get("name"))[:500]}
    if kind in (Kind.AGENT, Kind.TOOL, Kind.MCP_SERVER):
        columns["enabled"] = bool(body.get("enabled", False))
    if kind in (Kind.TOOL, Kind.MCP_SERVER):
        columns["type"] = body.get("type") or ("custom" if kind == Kind.MCP_SERVER else "")
    if kind == Kind.AGENT:
        columns["agent_type"] = body.get("type")
    return columns


def metadata(resource: AnyResource) -> dict[str, Any]:
    return {
        "version": resource.version,
        "createdAt": format_instant(resource.created_at),
        "modifiedAt": format_instant(resource.modified_at),
    }


def representation(resource: AnyResource) -> dict[str, Any]:
    return {"id": resource.public_id, **resource.body, "metadata": metadata(resource)}


def public_representation(resource: AnyResource) -> dict[str, Any]:
    """What the API answers and the console shows of a resource."""
    if resource.kind == Kind.TOKEN:
        # Named fields only: whatever else a token row might hold, its value above all, is never shown.
        return {"id": resource.public_id, "name": resource.name, "metadata": metadata(resource)}
    return representation(resource)

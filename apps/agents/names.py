"""How messages, pages and the OpenAPI document name each kind of resource."""

from __future__ import annotations

from apps.agents.models import Kind

KIND_NAMES = {Kind.AGENT: "agent", Kind.TOOL: "tool", Kind.MCP_SERVER: "MCP server", Kind.TOKEN: "token"}


def with_article(noun: str) -> str:
    """ "an agent", "a tool", "an MCP server" (said em-see-pee)."""
    return f"{'an' if noun[0] in 'aeiouM' else 'a'} {noun}"

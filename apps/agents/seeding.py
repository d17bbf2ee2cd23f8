"""Synthetic agents with tools, MCP servers and a token, for benchmarks and tests of export and import; and an
assistant that runs as it is, for a first agent run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from apps.agents.crypto import encrypt_value
from apps.agents.models import Agent, Kind, McpServer, Token, Tool
from apps.agents.references import references_sync
from apps.agents.representation import columns_from_body
from apps.tenants.models import Tenant


@dataclass(frozen=True)
class Catalogue:
    agents: list[str]
    tools: list[str]
    mcp_servers: list[str]
    token: str


def seed_catalogue(
    *, tenant: Tenant, agents: int, tools_per_agent: int = 3, servers_per_agent: int = 2, prefix: str = "s"
) -> Catalogue:
    """`agents` agents, each with its own tools (RAG, using one shared token) and MCP servers, and each
    handing off to the next, so an export of the first one travels the whole chain."""
    token_id = f"{prefix}-token"
    with transaction.atomic():
        Token.objects.create(
            tenant=tenant,
            public_id=token_id,
            name="LLM key",
            body={"name": "LLM key"},
            encrypted_value=encrypt_value("k"),
        )
        catalogue = Catalogue([], [], [], token_id)
        for n in range(agents):
            tools = [_tool(tenant, f"{prefix}-tool-{n}-{t}", token_id) for t in range(tools_per_agent)]
            servers = [_server(tenant, f"{prefix}-mcp-{n}-{s}", token_id) for s in range(servers_per_agent)]
            helper = f"{prefix}-agent-{n + 1}" if n + 1 < agents else None
            catalogue.agents.append(_agent(tenant, f"{prefix}-agent-{n}", n, tools, servers, helper))
            catalogue.tools.extend(tools)
            catalogue.mcp_servers.extend(servers)
    return catalogue


def rag_tool_body(token_id: str, name: str = "Product search") -> dict[str, Any]:
    """A RAG tool's representation that reads its vector store and embeddings with the token `token_id`; the
    tests build their tools from it too."""
    return {
        "name": name,
        "type": "rag_custom",
        "enabled": True,
        "config": {
            "prompt": "Use it to find products the customer asks about.",
            "maxResults": 5,
            "databaseConfig": {
                "url": "https://vectors.example.com",
                "type": "qdrant",
                "entityType": "product",
                "collectionName": "products",
                "token": {"id": token_id},
            },
            "embeddingConfig": {"model": "text-embedding-3-small", "token": {"id": token_id}},
        },
    }


def _tool(tenant: Tenant, public_id: str, token_id: str) -> str:
    return _create(tenant, Kind.TOOL, Tool, public_id, rag_tool_body(token_id, name=f"Product search {public_id}"))


def _server(tenant: Tenant, public_id: str, token_id: str) -> str:
    body = {
        "name": f"Orders {public_id}",
        "type": "custom",
        "enabled": True,
        "transport": "streamable_http",
        "config": {
            "url": "https://mcp.example.com/orders",
            "authorizationHeaderName": "Authorization",
            "authorizationHeaderToken": {"id": token_id},
        },
    }
    return _create(tenant, Kind.MCP_SERVER, McpServer, public_id, body)


def _agent(tenant: Tenant, public_id: str, n: int, tools: list[str], servers: list[str], helper: str | None) -> str:
    body: dict[str, Any] = {
        "name": {"en": f"Support agent {n}", "de": f"Support-Agent {n}"},
        "description": {"en": "Answers customers' questions about their orders."},
        "type": "support",
        "enabled": True,
        "userPrompt": "You help customers with their orders. Be brief and friendly.",
        "triggers": [{"type": "endpoint"}],
        "llmConfig": {"provider": "emporix_openai", "model": "gpt-4.1-mini", "temperature": 0.7},
        "nativeTools": [{"id": tool} for tool in tools],
        "mcpServers": [{"type": "custom", "mcpServer": {"id": server}} for server in servers],
        "agentCollaborations": [{"agentId": helper, "description": "Hand off to it."}] if helper else [],
        "maxRecursionLimit": 20,
        "enabledMemory": False,
    }
    return _create(tenant, Kind.AGENT, Agent, public_id, body)


def seed_assistant(*, tenant: Tenant, prefix: str = "s") -> str:
    """An agent that runs with nothing more to set up: enabled, started by a message (an endpoint trigger), on the
    installation's own model (emporix_openai: the demo model under `make run`), with no tool or MCP server that
    would need an outside service. It remembers the conversation of a session."""
    body: dict[str, Any] = {
        "name": {"en": "Demo assistant", "de": "Demo-Assistent"},
        "description": {"en": "Answers questions; try it from its page in the console."},
        "type": "generic",
        "enabled": True,
        "userPrompt": "You are a helpful assistant of an online shop. Answer briefly.",
        "triggers": [{"type": "endpoint"}],
        "llmConfig": {"provider": "emporix_openai", "model": "gpt-4.1-mini", "temperature": 0.2},
        "nativeTools": [],
        "mcpServers": [],
        "agentCollaborations": [],
        "maxRecursionLimit": 10,
        "enabledMemory": True,
    }
    with transaction.atomic():
        return _create(tenant, Kind.AGENT, Agent, f"{prefix}-assistant", body)


def _create(tenant: Tenant, kind: Kind, model: type[Agent | Tool | McpServer], public_id: str, body: Any) -> str:
    model.objects.create(tenant=tenant, public_id=public_id, body=body, **columns_from_body(kind, body))
    references_sync(tenant=tenant, kind=kind, public_id=public_id, body=body)
    return public_id

"""What a run needs to know of an agent, read from the catalogue before the run starts (the run itself is async and
reads nothing): its model with the decrypted key, its prompt and limits, its MCP servers, its collaborators.

Token values are decrypted here, in the worker only, and travel in `secrets` too, so that every line a run writes
can be scrubbed of them. Whatever cannot run in this installation (native tools, predefined and dynamic MCP
servers) fails the run with a message naming it, rather than being left out silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from apps.agents.crypto import decrypt_value
from apps.agents.models import Agent, McpServer, Token, Tool
from apps.tenants.models import Tenant


class RunFailed(Exception):
    """The run cannot go on; `reason` is written as the job's message, for a person to act on (never a secret)."""

    def __init__(self, reason: str, usage: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.usage = usage  # what the run had used when it failed, if it had started


@dataclass
class ModelSpec:
    provider: str  # the llmConfig provider
    api: str  # whose API is spoken: OPENAI, ANTHROPIC or GOOGLE
    model: str
    base_url: str | None = None
    api_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    temperature: float | None = None


@dataclass
class McpSpec:
    server_id: str
    name: str
    transport: str  # streamable_http or sse
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class AgentSpec:
    agent_id: str
    name: str
    instructions: str
    model: ModelSpec
    request_limit: int
    max_tokens: int | None
    output_schema: dict[str, Any] | None
    memory: bool
    servers: list[McpSpec]
    collaborators: list[tuple[AgentSpec, str]] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)

    def all_secrets(self) -> set[str]:
        found = set(self.secrets)
        for collaborator, _ in self.collaborators:
            found |= collaborator.all_secrets()
        return found


def agent_spec(*, tenant: Tenant, agent_id: str, chain: tuple[str, ...] = ()) -> AgentSpec:
    """The spec of the tenant's agent `agent_id`, with its collaborators' up to AGENT_COLLABORATION_MAX_DEPTH.
    `chain` holds the agents that handed over to this one: none of them is offered again (no cycles)."""
    agent = Agent.objects.filter(tenant=tenant, public_id=agent_id).first()
    if agent is None:
        raise RunFailed(f"The agent {agent_id} no longer exists.")
    if not agent.enabled:
        raise RunFailed(f"The agent {agent_id} is disabled.")
    body: dict[str, Any] = agent.body or {}
    _refuse_hosted_tools(tenant, agent_id, body)
    secrets: set[str] = set()
    spec = AgentSpec(
        agent_id=agent_id,
        name=agent.name,
        instructions=_instructions(body),
        model=_model(tenant, body.get("llmConfig") or {}, secrets),
        request_limit=int(body.get("maxRecursionLimit") or 20),
        max_tokens=(body.get("llmConfig") or {}).get("maxTokens"),
        output_schema=_output_schema(agent_id, body.get("outputFormat")),
        memory=bool(body.get("enabledMemory", body.get("enableMemory", False))),
        servers=[_server(tenant, item, secrets) for item in body.get("mcpServers") or []],
        secrets=secrets,
    )
    chain = (*chain, agent_id)
    if len(chain) <= settings.AGENT_COLLABORATION_MAX_DEPTH:
        for collaboration in body.get("agentCollaborations") or []:
            other = str(collaboration.get("agentId") or "")
            if other and other not in chain:
                description = str(collaboration.get("description") or "")
                spec.collaborators.append((agent_spec(tenant=tenant, agent_id=other, chain=chain), description))
    return spec


def _instructions(body: dict[str, Any]) -> str:
    # Upstream concatenates the template prompt to the user prompt.
    parts = [str(body.get(name) or "").strip() for name in ("userPrompt", "templatePrompt")]
    return "\n\n".join(part for part in parts if part)


def _refuse_hosted_tools(tenant: Tenant, agent_id: str, body: dict[str, Any]) -> None:
    hosted: list[str] = []
    tool_ids = [str(ref.get("id")) for ref in body.get("nativeTools") or []]
    tools = {tool.public_id: tool for tool in Tool.objects.filter(tenant=tenant, public_id__in=tool_ids)}
    for tool_id in tool_ids:
        tool = tools.get(tool_id)
        hosted.append(f"native tool {tool_id}" if tool is None else f"{tool.type} tool '{tool.name}' ({tool_id})")
    for item in body.get("mcpServers") or []:
        if item.get("type") == "predefined":
            hosted.append(f"predefined MCP server of domain '{item.get('domain')}'")
        elif item.get("type") == "dynamic":
            hosted.append(f"dynamic MCP server {(item.get('mcpServer') or {}).get('id')}")
    if hosted:
        raise RunFailed(
            f"The agent {agent_id} uses tools that only the hosted service runs, not this installation: "
            f"{', '.join(hosted)}. Remove them from the agent to run it here."
        )


def _token(tenant: Tenant, ref: Any, what: str, secrets: set[str]) -> str:
    token_id = str((ref or {}).get("id") or "")
    token = Token.objects.filter(tenant=tenant, public_id=token_id).only("encrypted_value").first()
    if token is None:
        raise RunFailed(f"The token {token_id} of {what} does not exist.")
    value = decrypt_value(token.encrypted_value)
    if value is None:
        raise RunFailed(
            f"The token {token_id} of {what} cannot be decrypted with TOKEN_ENCRYPTION_KEYS (the keys were changed); "
            "store its value again."
        )
    secrets.add(value)
    return value


def _model(tenant: Tenant, llm: dict[str, Any], secrets: set[str]) -> ModelSpec:
    provider, model = str(llm.get("provider") or ""), str(llm.get("model") or "")
    temperature = llm.get("temperature")
    if provider in ("openai", "anthropic", "google"):
        key = _token(tenant, llm.get("token"), f"the {provider} model", secrets)
        return ModelSpec(provider, provider.upper(), model, api_key=key, temperature=temperature)
    if provider in ("self_hosted_ollama", "self_hosted_vllm"):
        params = llm.get("selfHostedParams") or {}
        if params.get("oauth"):
            # The hosted service fetches the model's token from an OAuth configuration (a preview resource this
            # installation does not have): run without it, the model would be called unauthenticated.
            raise RunFailed(
                "The agent's self-hosted model gets its token through selfHostedParams.oauth, which only the hosted "
                "service runs: give it authorizationHeaderName and authorizationHeaderToken instead."
            )
        headers: dict[str, str] = {}
        if params.get("authorizationHeaderName") and params.get("authorizationHeaderToken"):
            value = _token(tenant, params["authorizationHeaderToken"], "the self-hosted model", secrets)
            headers[str(params["authorizationHeaderName"])] = value
        api = str(llm.get("baseProvider") or "OPENAI")
        return ModelSpec(
            provider, api, model, base_url=str(params.get("url") or ""), headers=headers, temperature=temperature
        )
    if provider == "emporix_openai":
        # The key is optional: the installation's endpoint may be a local model that takes none (make run's demo).
        if not settings.PLATFORM_LLM_BASE_URL:
            raise RunFailed(
                "The agent's provider is emporix_openai, the installation's own model, and this installation has "
                "none: set PLATFORM_LLM_BASE_URL (and PLATFORM_LLM_API_KEY if it takes a key), or give the agent "
                "another provider."
            )
        platform_key: str | None = settings.PLATFORM_LLM_API_KEY or None
        if platform_key:
            secrets.add(platform_key)
        return ModelSpec(
            provider,
            "OPENAI",
            model,
            base_url=settings.PLATFORM_LLM_BASE_URL,
            api_key=platform_key,
            temperature=temperature,
        )
    raise RunFailed(f"The agent's model provider {provider or '(none)'} is not one this installation runs.")


def _output_schema(agent_id: str, text: Any) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        schema = json.loads(str(text))
    except ValueError:
        raise RunFailed(f"The outputFormat of agent {agent_id} is not JSON.") from None
    if not isinstance(schema, dict):
        raise RunFailed(f"The outputFormat of agent {agent_id} is not a JSON Schema object.")
    return schema


def _server(tenant: Tenant, item: dict[str, Any], secrets: set[str]) -> McpSpec:
    server_id = str((item.get("mcpServer") or {}).get("id") or "")
    server = McpServer.objects.filter(tenant=tenant, public_id=server_id).first()
    if server is None:
        raise RunFailed(f"The MCP server {server_id} does not exist.")
    if not server.enabled:
        raise RunFailed(
            f"The MCP server '{server.name}' ({server_id}) is disabled; enable it or remove it from the agent."
        )
    config: dict[str, Any] = (server.body or {}).get("config") or {}
    headers: dict[str, str] = {}
    if config.get("authorizationHeaderName") and config.get("authorizationHeaderToken"):
        value = _token(tenant, config["authorizationHeaderToken"], f"MCP server {server_id}", secrets)
        headers[str(config["authorizationHeaderName"])] = value
    transport = str((server.body or {}).get("transport") or "streamable_http")
    return McpSpec(server_id, server.name, transport, str(config.get("url") or ""), headers)

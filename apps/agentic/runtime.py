"""One agent run with pydantic-ai: the only module that imports it (tests/agentic/runtime check that it stays so).

`run_agent` takes an AgentSpec (apps.agentic.specs) and the message, runs the agent node by node and reports
through a `Journal` (the runner's, which writes to the database): a log line for every step in the phrases of
apps.agentic.logs, a mark before any tool runs, and whether the job is still wanted. Between steps, and every
half second while a model or tool call is under way, it asks the journal; a job cancelled or deleted stops the run
at once (RunStopped) and nothing more is reported.

Limits: the whole run is bounded by AGENT_RUN_TIMEOUT_SECONDS (pydantic-ai's own run deadline, so it also holds in
a thread pool where Celery's time limits do not), every model request by AGENT_MODEL_TIMEOUT_SECONDS, every MCP
tool call by AGENT_TOOL_TIMEOUT_SECONDS; `maxRecursionLimit` caps the model requests and `llmConfig.maxTokens` the
tokens of the whole run, collaborators included (they share the run's usage). Every HTTP request goes through
apps.agentic.egress.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2
from pydantic_ai import Agent, CallToolsNode, CancellationToken, ModelRequestNode, RunContext, Tool
from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError, RunCancelled, RunTimedOut, UsageLimitExceeded
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter
from pydantic_ai.models import Model
from pydantic_ai.output import StructuredDict
from pydantic_ai.settings import ModelSettings
from pydantic_ai.toolsets import AbstractToolset, FunctionToolset, WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool
from pydantic_ai.usage import RunUsage, UsageLimits

from apps.agentic import egress, logs
from apps.agentic.specs import AgentSpec, ModelSpec, RunFailed

__all__ = ["Journal", "RunFailed", "RunResult", "RunStopped", "Timeouts", "run_agent"]

POLL_SECONDS = 0.5
MCP_SETUP_SECONDS = 10.0


class RunStopped(Exception):
    """The job was cancelled or deleted while the run went on: the run stopped and reports nothing more."""


class Journal(Protocol):
    """Where a run reports, from inside its event loop."""

    async def line(self, agent_id: str, message: str, severity: str = "INFO") -> bool:
        """Write a line; False when the job is no longer in progress (and nothing was written)."""
        ...

    async def tool_starting(self) -> None: ...

    async def wanted(self) -> bool: ...


@dataclass(frozen=True)
class Timeouts:
    run: float
    model: float
    tool: float


@dataclass
class RunResult:
    output: str
    usage: dict[str, Any]
    agents: list[str]  # the trigger agent, then each collaborator it handed over to
    history: list[Any] | None  # the trigger agent's conversation, when it keeps one (enabledMemory)


@dataclass
class _Run:
    """What the steps of one run share: the journal, the secrets to scrub, the usage, the stop switch."""

    journal: Journal
    timeouts: Timeouts
    secrets: list[str]
    usage: RunUsage = field(default_factory=RunUsage)
    cancel: CancellationToken = field(default_factory=CancellationToken)
    stopped: bool = False
    requests: int = 0
    agents: list[str] = field(default_factory=list)
    clients: list[httpx2.AsyncClient] = field(default_factory=list)
    limits: UsageLimits | None = None

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    async def line(self, agent_id: str, message: str, severity: str = "INFO") -> None:
        """Write a line of the transcript; a job that is no longer in progress stops the run here."""
        if self.stopped or not await self.journal.line(agent_id, self.scrub(message), severity):
            self.stopped = True
            raise RunStopped


def preload() -> None:
    """Import what runs with an OpenAI-style model and MCP servers need (the model SDK, the MCP client: seconds of
    imports). Called once in a worker's main process before it forks its pool (apps.agentic.runner), so that every
    pool process starts with them instead of importing them on its first run; the web process never needs them."""
    import fastmcp.client
    import fastmcp.client.transports
    import openai
    import pydantic_ai.mcp
    import pydantic_ai.models.openai
    import pydantic_ai.providers.openai

    del fastmcp, openai, pydantic_ai


async def run_agent(
    spec: AgentSpec, message: str, *, history: list[Any] | None, journal: Journal, timeouts: Timeouts
) -> RunResult:
    """Run `spec` on `message` (after `history`, the stored conversation), reporting to `journal`. Raises RunFailed
    with a reason for a person, or RunStopped when the job was cancelled meanwhile."""
    # Longest first, so that a secret containing another is replaced whole.
    run = _Run(journal, timeouts, sorted((s for s in spec.all_secrets() if s), key=len, reverse=True))
    run.limits = UsageLimits(request_limit=spec.request_limit, total_tokens_limit=spec.max_tokens)
    watcher = asyncio.create_task(_watch(run))
    try:
        output, messages = await _guarded(spec, message, history, run)
    except RunFailed as exc:
        raise RunFailed(exc.reason, usage=usage_of(run.usage, spec.model)) from None
    finally:
        watcher.cancel()
        for client in run.clients:
            await client.aclose()
    kept = None
    if spec.memory:
        dumped = json.dumps(ModelMessagesTypeAdapter.dump_python(messages, mode="json"), ensure_ascii=False)
        try:
            kept = json.loads(run.scrub(dumped))  # what is remembered is written to the database too
        except ValueError:
            kept = None  # a secret spanning JSON syntax: better forget this conversation than store it
    return RunResult(output=run.scrub(output), usage=usage_of(run.usage, spec.model), agents=run.agents, history=kept)


async def _guarded(
    spec: AgentSpec, message: str, history: list[Any] | None, run: _Run
) -> tuple[str, list[ModelMessage]]:
    """The run, with every way it can end badly turned into RunStopped or a RunFailed saying why."""
    try:
        return await _run_one(spec, message, _history(history), run, top=True)
    except (RunStopped, RunCancelled) as exc:
        if run.stopped:
            raise RunStopped from None
        if isinstance(exc, RunTimedOut):
            raise RunFailed(
                f"The run took longer than {run.timeouts.run:g} s (AGENT_RUN_TIMEOUT_SECONDS) and was stopped."
            ) from None
        raise RunFailed("The run was cancelled.") from None
    except UsageLimitExceeded as exc:
        raise RunFailed(_limit_reason(spec, str(exc))) from None
    except RunFailed as exc:
        raise RunFailed(run.scrub(exc.reason)) from None
    except Exception as exc:
        if run.stopped:
            raise RunStopped from None
        reason = _failure_reason(spec, exc)
        if reason is None:
            raise
        raise RunFailed(run.scrub(reason)) from None


def usage_of(usage: RunUsage, model: ModelSpec) -> dict[str, Any]:
    return {
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "requests": usage.requests,
        "toolCalls": usage.tool_calls,
        "model": model.model,
    }


async def _watch(run: _Run) -> None:
    """Stops the run as soon as its job is no longer wanted, even in the middle of a slow model or tool call."""
    while True:
        await asyncio.sleep(POLL_SECONDS)
        if not await run.journal.wanted():
            run.stopped = True
            run.cancel.cancel()
            return


def _history(stored: list[Any] | None) -> list[ModelMessage] | None:
    if not stored:
        return None
    try:
        return ModelMessagesTypeAdapter.validate_python(stored)
    except ValueError:
        return None  # written by another version of the library: the conversation starts afresh


async def _run_one(
    spec: AgentSpec, message: str, history: list[ModelMessage] | None, run: _Run, *, top: bool
) -> tuple[str, list[ModelMessage]]:
    """One agent's part of the run (the trigger agent's, or a collaborator's inside a transfer tool)."""
    if spec.agent_id not in run.agents:
        run.agents.append(spec.agent_id)
    if not top:  # the trigger agent's request line was written with the job
        await run.line(spec.agent_id, logs.received(message))
    agent: Agent[None, Any] = Agent(
        _model(spec.model, run),
        instructions=spec.instructions or None,
        output_type=StructuredDict(spec.output_schema) if spec.output_schema else str,
        toolsets=_toolsets(spec, run),
        name=spec.agent_id,
        model_settings=_settings(spec.model, run.timeouts),
    )
    async with agent.iter(
        message,
        message_history=history,
        usage_limits=run.limits,
        usage=run.usage,
        cancellation_token=run.cancel,
        timeout=run.timeouts.run if top else None,
    ) as agent_run:
        async for node in agent_run:
            if run.stopped:
                raise RunStopped
            await _log_node(node, spec.agent_id, run)
        result = agent_run.result
    if result is None:
        raise RunFailed("The run ended without an answer.")
    output = result.output
    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    await run.line(spec.agent_id, logs.final_response(text))
    return text, result.all_messages()


async def _log_node(node: Any, agent_id: str, run: _Run) -> None:
    if isinstance(node, ModelRequestNode):
        run.requests += 1
        prompts = [_part_text(part) for part in node.request.parts]
        await run.line(agent_id, logs.llm_started(run.requests, agent_id, [p for p in prompts if p]))
    elif isinstance(node, CallToolsNode):
        response = "\n".join(t for t in (_part_text(part) for part in node.model_response.parts) if t)
        await run.line(agent_id, logs.llm_ended(run.requests, agent_id, response))


def _part_text(part: Any) -> str:
    kind = getattr(part, "part_kind", "")
    if kind in ("user-prompt", "text", "system-prompt"):
        content = getattr(part, "content", "")
        return content if isinstance(content, str) else str(content)
    if kind == "tool-call":
        return f"{part.tool_name}({part.args_as_json_str()})"
    if kind == "tool-return":
        return f"{part.tool_name}: {part.model_response_str()}"
    return ""


def _settings(model: ModelSpec, timeouts: Timeouts) -> ModelSettings:
    settings = ModelSettings(timeout=timeouts.model)
    if model.temperature is not None:
        settings["temperature"] = float(model.temperature)
    return settings


def _model(spec: ModelSpec, run: _Run) -> Model:
    """The pydantic-ai model for the agent's llmConfig, talking through a checked client with no retries of its
    own (a retried request could repeat a tool's effect; the run reports the failure instead)."""
    client = egress.http_client(timeout=run.timeouts.model, headers=spec.headers or None)
    run.clients.append(client)
    key = spec.api_key or "not-needed"  # self-hosted models authenticate with their own header, if at all
    # What the OpenAI and Anthropic SDKs are given alike; no retries of their own (see above).
    sdk_options: dict[str, Any] = {
        "api_key": key,
        "base_url": spec.base_url or None,
        "http_client": client,
        "max_retries": 0,
        "timeout": run.timeouts.model,
        "default_headers": spec.headers or None,
    }
    if spec.api == "ANTHROPIC":
        from anthropic import AsyncAnthropic
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        anthropic = AsyncAnthropic(**sdk_options)
        return AnthropicModel(spec.model, provider=AnthropicProvider(anthropic_client=anthropic))
    if spec.api == "GOOGLE":
        from pydantic_ai.models.google import GoogleModel
        from pydantic_ai.providers.google import GoogleProvider

        provider = GoogleProvider(api_key=key, http_client=client, base_url=spec.base_url or None)
        return GoogleModel(spec.model, provider=provider)
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    openai = AsyncOpenAI(**sdk_options)
    return OpenAIChatModel(spec.model, provider=OpenAIProvider(openai_client=openai))


def _toolsets(spec: AgentSpec, run: _Run) -> list[AbstractToolset[Any]]:
    toolsets: list[AbstractToolset[Any]] = [
        _Logged(
            wrapped=_mcp(server, run),
            run=run,
            agent_id=spec.agent_id,
            timeout=run.timeouts.tool,
            server=f"'{server.name}' ({server.server_id})",
        )
        for server in spec.servers
    ]
    if spec.collaborators:
        tools = [
            _transfer_tool(spec, collaborator, description, run) for collaborator, description in spec.collaborators
        ]
        toolsets.append(_Logged(wrapped=FunctionToolset(tools), run=run, agent_id=spec.agent_id, timeout=None))
    return toolsets


def _mcp(server: Any, run: _Run) -> AbstractToolset[Any]:
    from fastmcp.client import Client
    from fastmcp.client.transports import SSETransport, StreamableHttpTransport
    from pydantic_ai.mcp import MCPToolset

    def factory(
        headers: dict[str, str] | None = None, timeout: Any = None, auth: Any = None, **_: Any
    ) -> httpx2.AsyncClient:
        # Redirects are never followed, whatever the transport asks for (egress.CheckedTransport refuses them).
        client = egress.http_client(timeout=run.timeouts.tool, headers={**(headers or {}), **server.headers})
        if auth is not None:
            client.auth = auth
        return client

    transport_class = SSETransport if server.transport == "sse" else StreamableHttpTransport
    transport = transport_class(url=server.url, httpx_client_factory=factory)
    # Connecting and listing tools get at least MCP_SETUP_SECONDS; each tool call is bounded by _Logged.
    setup = max(run.timeouts.tool, MCP_SETUP_SECONDS)
    client = Client(transport, timeout=setup, init_timeout=setup)
    return MCPToolset(client, id=f"mcp-{server.server_id}")


_TOOL_NAME = re.compile(r"[^A-Za-z0-9_-]")


def transfer_tool_name(agent_id: str) -> str:
    """`transfer_to_<agentId>`, as upstream names them, within the characters and length model APIs take."""
    return ("transfer_to_" + _TOOL_NAME.sub("_", agent_id))[:64]


def _transfer_tool(parent: AgentSpec, collaborator: AgentSpec, description: str, run: _Run) -> Tool[Any]:
    async def transfer(ctx: RunContext[Any], message: str) -> str:
        output, _ = await _run_one(collaborator, message, None, run, top=False)
        await run.line(collaborator.agent_id, logs.transferred_back(parent.agent_id))
        return output

    about = description or f"Hand the conversation over to the agent {collaborator.name}."
    return Tool(
        transfer,
        takes_ctx=True,
        name=transfer_tool_name(collaborator.agent_id),
        description=f"{about} Pass it the message to answer; its answer comes back.",
    )


@dataclass
class _Logged(WrapperToolset[Any]):
    """Writes the tool lines, marks the job before any tool runs (a tool may change the world), bounds each call."""

    run: _Run | None = None
    agent_id: str = ""
    timeout: float | None = None
    server: str | None = None  # the MCP server's name and id; None for the transfer tools

    async def __aenter__(self) -> _Logged:
        try:
            await self.wrapped.__aenter__()
        except Exception as exc:
            failure = self._unusable(exc)
            if failure is None:
                raise
            raise failure from None
        return self

    async def get_tools(self, ctx: RunContext[Any]) -> dict[str, ToolsetTool[Any]]:
        try:
            return await self.wrapped.get_tools(ctx)
        except Exception as exc:
            failure = self._unusable(exc)
            if failure is None:
                raise
            raise failure from None

    def _unusable(self, exc: Exception) -> RunFailed | None:
        """The failure to report when the server cannot be connected to or asked for its tools; None to let the
        error through (a refused request, a stopped run, an error of the transfer tools)."""
        if self.server is None or egress.refusal_in(exc) is not None or isinstance(exc, RunCancelled | RunStopped):
            return None
        detail = "it did not answer in time" if _timed_out(exc) else f"{type(exc).__name__}: {str(exc)[:300]}"
        return RunFailed(f"The MCP server {self.server} could not be used: {detail}.")

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        run = self.run
        assert run is not None
        await run.journal.tool_starting()
        await run.line(self.agent_id, logs.tool_called(name, self.agent_id))
        try:
            result = await asyncio.wait_for(self.wrapped.call_tool(name, tool_args, ctx, tool), self.timeout)
        except Exception as exc:
            # The MCP client's own timeout may fire first; either way the tool took too long.
            if run.stopped:
                raise RunStopped from None
            if self.timeout is None or not _timed_out(exc):
                raise
            raise RunFailed(
                f"The tool {name} did not answer within {self.timeout:g} s (AGENT_TOOL_TIMEOUT_SECONDS)."
            ) from None
        output = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
        await run.line(self.agent_id, logs.tool_ended(self.agent_id, output))
        return result


def _limit_reason(spec: AgentSpec, detail: str) -> str:
    if "request" in detail.lower():
        return (
            f"The run stopped at its limit of {spec.request_limit} model requests (maxRecursionLimit) before the "
            "agent answered."
        )
    return f"The run stopped at its limit of {spec.max_tokens} tokens (llmConfig.maxTokens) before the agent answered."


def _failure_reason(spec: AgentSpec, exc: BaseException) -> str | None:
    """A sentence for a failure of the model or of a server; None for an error of ours (logged with its traceback)."""
    model = f"The model {spec.model.model} ({spec.model.provider})"
    refused = egress.refusal_in(exc)
    if refused is not None:
        return f"A request of the run was refused: {refused.host} {refused.reason}."
    if isinstance(exc, ModelHTTPError):
        return f"{model} answered HTTP {exc.status_code}: {_detail(exc.body)}"
    if _timed_out(exc):
        return f"{model} did not answer within the time allowed (AGENT_MODEL_TIMEOUT_SECONDS)."
    if isinstance(exc, ModelAPIError):
        return f"{model} could not be reached: {exc.message}"
    text = f"{type(exc).__name__}: {exc}"
    if any(word in type(exc).__module__ for word in ("mcp", "httpx", "anyio")):
        return f"An MCP server of the run failed: {text[:300]}"
    return None


def _timed_out(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError | httpx2.TimeoutException) or "Timeout" in type(seen).__name__:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _detail(body: object) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else body.get("message")
        if message:
            return str(message)[:300]
    return str(body or "no details")[:300]

"""One agent run with pydantic-ai: this package is the only code that imports it (tests/agentic/runtime check that it
stays so).

`run_agent` takes an AgentSpec (apps.agentic.specs) and the message, runs the agent node by node and reports
through a `Journal` (the runner's, which writes to the database): a log line for every step in the phrases of
apps.agentic.logs (written in batches, see state.Journal; those after the last batch of a run that answered are
written by the runner with the job's end), a mark before any tool runs, and whether the job is still
wanted. At every step, and every half second while a model or tool call is under way, it learns whether the job is
still wanted; a job cancelled or deleted stops the run (RunStopped) and nothing more is reported.

Limits: the whole run is bounded by AGENT_RUN_TIMEOUT_SECONDS (pydantic-ai's own run deadline, so it also holds in
a thread pool where Celery's time limits do not), every model request by AGENT_MODEL_TIMEOUT_SECONDS, every MCP
tool call by AGENT_TOOL_TIMEOUT_SECONDS; `maxRecursionLimit` caps the model requests and `llmConfig.maxTokens` the
tokens of the whole run, collaborators included (they share the run's usage). Every HTTP request goes through
apps.agentic.egress.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from pydantic_ai import Agent, CallToolsNode, ModelRequestNode, RunContext, Tool
from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError, RunCancelled, RunTimedOut, UsageLimitExceeded
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter
from pydantic_ai.output import StructuredDict
from pydantic_ai.toolsets import AbstractToolset, FunctionToolset
from pydantic_ai.usage import RunUsage, UsageLimits

from apps.agentic import egress, logs
from apps.agentic.runtime.llm import build_model, model_settings, preload
from apps.agentic.runtime.state import (
    POLL_SECONDS,
    Journal,
    RunResult,
    RunState,
    RunStopped,
    Timeouts,
    timed_out,
)
from apps.agentic.runtime.tools import LoggedToolset, close_idle_sessions, mcp_toolset, transfer_tool_name
from apps.agentic.specs import AgentSpec, ModelSpec, RunFailed

__all__ = [
    "Journal",
    "RunFailed",
    "RunResult",
    "RunStopped",
    "Timeouts",
    "preload",
    "run_agent",
    "transfer_tool_name",
]


async def run_agent(
    spec: AgentSpec, message: str, *, history: list[Any] | None, journal: Journal, timeouts: Timeouts
) -> RunResult:
    """Run `spec` on `message` (after `history`, the stored conversation), reporting to `journal`. Raises RunFailed
    with a reason for a person, or RunStopped when the job was cancelled meanwhile."""
    # Longest first, so that a secret containing another is replaced whole.
    run = RunState(journal, timeouts, sorted((s for s in spec.all_secrets() if s), key=len, reverse=True))
    run.limits = UsageLimits(request_limit=spec.request_limit, total_tokens_limit=spec.max_tokens)
    await close_idle_sessions()
    watcher = asyncio.create_task(_watch(run))
    try:
        output, messages = await _guarded(spec, message, history, run)
        if run.stopped:
            raise RunStopped
        # No flush here: the last lines stay in the journal, and the runner writes them with the job's end.
    except RunFailed as exc:
        await _flush_quietly(run)  # the lines up to the failure, before the runner writes why
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
    spec: AgentSpec, message: str, history: list[Any] | None, run: RunState
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


async def _flush_quietly(run: RunState) -> None:
    with contextlib.suppress(RunStopped):  # the job ended meanwhile: its transcript ends where it was
        await run.flush()


def usage_of(usage: RunUsage, model: ModelSpec) -> dict[str, Any]:
    return {
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "requests": usage.requests,
        "toolCalls": usage.tool_calls,
        "model": model.model,
    }


async def _watch(run: RunState) -> None:
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
    spec: AgentSpec, message: str, history: list[ModelMessage] | None, run: RunState, *, top: bool
) -> tuple[str, list[ModelMessage]]:
    """One agent's part of the run (the trigger agent's, or a collaborator's inside a transfer tool)."""
    if spec.agent_id not in run.agents:
        run.agents.append(spec.agent_id)
    if not top:  # the trigger agent's request line was written with the job
        await run.line(spec.agent_id, logs.received(message))
    agent: Agent[None, Any] = Agent(
        build_model(spec.model, run),
        instructions=spec.instructions or None,
        output_type=StructuredDict(spec.output_schema) if spec.output_schema else str,
        toolsets=await _toolsets(spec, run),
        name=spec.agent_id,
        model_settings=model_settings(spec.model, run.timeouts),
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


async def _log_node(node: Any, agent_id: str, run: RunState) -> None:
    if isinstance(node, ModelRequestNode):
        run.requests += 1
        prompts = [_part_text(part) for part in node.request.parts]
        await run.line(agent_id, logs.llm_started(run.requests, agent_id, [p for p in prompts if p]))
        # Before the model is asked (a request costs money): the transcript so far is written, and a job that was
        # cancelled or deleted meanwhile, during a tool call say, stops here.
        await run.flush()
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


async def _toolsets(spec: AgentSpec, run: RunState) -> list[AbstractToolset[Any]]:
    toolsets: list[AbstractToolset[Any]] = [
        await mcp_toolset(server, run, agent_id=spec.agent_id, label=f"'{server.name}' ({server.server_id})")
        for server in spec.servers
    ]
    if spec.collaborators:
        tools = [
            _transfer_tool(spec, collaborator, description, run) for collaborator, description in spec.collaborators
        ]
        toolsets.append(LoggedToolset(wrapped=FunctionToolset(tools), run=run, agent_id=spec.agent_id, timeout=None))
    return toolsets


def _transfer_tool(parent: AgentSpec, collaborator: AgentSpec, description: str, run: RunState) -> Tool[Any]:
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
    if timed_out(exc):
        return f"{model} did not answer within the time allowed (AGENT_MODEL_TIMEOUT_SECONDS)."
    if isinstance(exc, ModelAPIError):
        return f"{model} could not be reached: {exc.message}"
    text = f"{type(exc).__name__}: {exc}"
    if any(word in type(exc).__module__ for word in ("mcp", "httpx", "anyio")):
        return f"An MCP server of the run failed: {text[:300]}"
    return None


def _detail(body: object) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else body.get("message")
        if message:
            return str(message)[:300]
    return str(body or "no details")[:300]

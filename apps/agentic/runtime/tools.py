"""The tools of a run: MCP servers' toolsets and the wrapper that logs, marks and bounds every tool call."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx2
from pydantic_ai import RunContext
from pydantic_ai.exceptions import RunCancelled
from pydantic_ai.toolsets import WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool

from apps.agentic import egress, logs
from apps.agentic.runtime.state import (
    MCP_PING_SECONDS,
    MCP_SESSION_IDLE_SECONDS,
    MCP_SESSION_MAX_AGE_SECONDS,
    MCP_SETUP_SECONDS,
    RunState,
    RunStopped,
    timed_out,
)
from apps.agentic.specs import RunFailed

if TYPE_CHECKING:  # imported when a run needs it: the web process never does (runtime.llm.preload)
    from pydantic_ai.mcp import MCPToolset


def _new_mcp_toolset(server: Any, tool_timeout: float) -> MCPToolset[Any]:
    from fastmcp.client import Client
    from fastmcp.client.transports import SSETransport, StreamableHttpTransport
    from pydantic_ai.mcp import MCPToolset

    def factory(
        headers: dict[str, str] | None = None, timeout: Any = None, auth: Any = None, **_: Any
    ) -> httpx2.AsyncClient:
        # Redirects are never followed, whatever the transport asks for (egress.CheckedTransport refuses them).
        client = egress.http_client(timeout=tool_timeout, headers={**(headers or {}), **server.headers})
        if auth is not None:
            client.auth = auth
        return client

    transport_class = SSETransport if server.transport == "sse" else StreamableHttpTransport
    transport = transport_class(url=server.url, httpx_client_factory=factory)
    # Connecting and listing tools get at least MCP_SETUP_SECONDS; each tool call is bounded by LoggedToolset.
    setup = max(tool_timeout, MCP_SETUP_SECONDS)
    client = Client(transport, timeout=setup, init_timeout=setup)
    return MCPToolset(client, id=f"mcp-{server.server_id}")


@dataclass
class _Session:
    """An MCP session a worker's loop keeps open between runs (see mcp_toolset)."""

    toolset: MCPToolset[Any]
    opened: float
    used: float
    broken: bool = False  # a call of a run failed or was cut off: the session is not offered again
    # The MCP client ends a session when the task that opened it ends, so a task of the loop's own holds it open
    # until released.
    release: asyncio.Event = field(default_factory=asyncio.Event)
    keeper: asyncio.Task[None] | None = None

    async def open(self) -> None:
        entered: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def hold() -> None:
            try:
                async with self.toolset:
                    entered.set_result(None)
                    await self.release.wait()
            except BaseException as exc:
                if entered.done():
                    return  # closing a session that may already be broken: nothing to report
                entered.set_exception(exc)

        self.keeper = asyncio.create_task(hold())
        try:
            await entered
        except BaseException:
            self.keeper.cancel()
            raise

    async def close(self) -> None:
        self.release.set()
        if self.keeper is not None:
            with contextlib.suppress(Exception):  # it is being dropped because it may not work
                await asyncio.wait_for(asyncio.shield(self.keeper), MCP_PING_SECONDS)
            self.keeper.cancel()


# By the server's URL, transport, headers (its token among them: they never leave this process's memory) and
# the tool timeout, with the loop they belong to.
_sessions: dict[tuple[Any, ...], _Session] = {}


async def mcp_toolset(server: Any, run: RunState, *, agent_id: str, label: str) -> LoggedToolset:
    """The toolset of one MCP server for a run, wrapped in LoggedToolset.

    In a worker's loop (egress.share_connections) the session is kept open for the process's next runs, which
    then skip connecting, the handshake and listing the tools (the tools are listed once per session). A kept
    session is used again only if it answers a ping (a server of the sessionless protocol keeps no session to
    ask about), is younger than MCP_SESSION_MAX_AGE_SECONDS (so a server's new tools show up within that time)
    and was used less than MCP_SESSION_IDLE_SECONDS ago; one whose call failed or was cut off is closed.
    Elsewhere the run opens its own session, closed with the run."""
    if not egress.shares_connections():
        toolset = _new_mcp_toolset(server, run.timeouts.tool)
        return LoggedToolset(wrapped=toolset, run=run, agent_id=agent_id, timeout=run.timeouts.tool, server=label)
    headers = tuple(sorted(server.headers.items()))
    key = (asyncio.get_running_loop(), server.url, server.transport, headers, run.timeouts.tool)
    session = _sessions.pop(key, None)
    now = time.monotonic()
    if session is not None and not await _reusable(session, now):
        await session.close()
        session = None
    if session is None:
        session = _Session(_new_mcp_toolset(server, run.timeouts.tool), opened=now, used=now)
        try:
            await session.open()  # every run enters and leaves the toolset on top of the keeper's hold
        except Exception as exc:
            failure = unusable(label, exc)
            if failure is None:
                raise
            raise failure from None
    session.used = now
    _sessions[key] = session
    return LoggedToolset(
        wrapped=session.toolset, run=run, agent_id=agent_id, timeout=run.timeouts.tool, server=label, session=session
    )


async def close_idle_sessions() -> None:
    """Close the kept sessions nobody used for MCP_SESSION_IDLE_SECONDS (called as every run starts): a server no run
    asks for any more does not keep a session (and a connection) of every worker open."""
    now = time.monotonic()
    for key, session in list(_sessions.items()):
        if now - session.used > MCP_SESSION_IDLE_SECONDS and _sessions.pop(key, None) is not None:
            await session.close()


async def _reusable(session: _Session, now: float) -> bool:
    if (
        session.broken
        or now - session.used > MCP_SESSION_IDLE_SECONDS
        or now - session.opened > MCP_SESSION_MAX_AGE_SECONDS
    ):
        return False
    if session.toolset.client.initialize_result is None:
        return True  # a server of the sessionless protocol keeps nothing of ours that could have expired
    try:
        await asyncio.wait_for(session.toolset.client.ping(), MCP_PING_SECONDS)
        return True
    except Exception:
        return False  # gone (the server restarted, the session expired): a new one is opened


def unusable(label: str | None, exc: Exception) -> RunFailed | None:
    """The failure to report when an MCP server cannot be connected to or asked for its tools; None to let the
    error through (no server: a transfer tool's error; a refused request; a stopped run)."""
    if label is None or egress.refusal_in(exc) is not None or isinstance(exc, RunCancelled | RunStopped):
        return None
    detail = "it did not answer in time" if timed_out(exc) else f"{type(exc).__name__}: {str(exc)[:300]}"
    return RunFailed(f"The MCP server {label} could not be used: {detail}.")


_TOOL_NAME = re.compile(r"[^A-Za-z0-9_-]")


def transfer_tool_name(agent_id: str) -> str:
    """`transfer_to_<agentId>`, as upstream names them, within the characters and length model APIs take."""
    return ("transfer_to_" + _TOOL_NAME.sub("_", agent_id))[:64]


@dataclass
class LoggedToolset(WrapperToolset[Any]):
    """Writes the tool lines, marks the job before any tool runs (a tool may change the world), bounds each call."""

    run: RunState | None = None
    agent_id: str = ""
    timeout: float | None = None
    server: str | None = None  # the MCP server's name and id; None for the transfer tools
    session: _Session | None = None  # the kept session it wraps, if any

    async def __aenter__(self) -> LoggedToolset:
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
        return unusable(self.server, exc)

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        run = self.run
        assert run is not None
        await run.line(self.agent_id, logs.tool_called(name, self.agent_id))
        await run.tool_starting()  # written before the tool runs: a tool may change the world
        try:
            result = await asyncio.wait_for(self.wrapped.call_tool(name, tool_args, ctx, tool), self.timeout)
        except BaseException as exc:
            if self.session is not None:
                self.session.broken = True  # a call failed or was cut off in the middle: start afresh next time
            if not isinstance(exc, Exception):
                raise
            # The MCP client's own timeout may fire first; either way the tool took too long.
            if run.stopped:
                raise RunStopped from None
            if self.timeout is None or not timed_out(exc):
                raise
            raise RunFailed(
                f"The tool {name} did not answer within {self.timeout:g} s (AGENT_TOOL_TIMEOUT_SECONDS)."
            ) from None
        output = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
        await run.line(self.agent_id, logs.tool_ended(self.agent_id, output))
        return result

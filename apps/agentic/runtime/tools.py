"""The tools of a run: MCP servers' toolsets and the wrapper that logs, marks and bounds every tool call."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx2
from pydantic_ai import RunContext
from pydantic_ai.exceptions import RunCancelled
from pydantic_ai.toolsets import AbstractToolset, WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool

from apps.agentic import egress, logs
from apps.agentic.runtime.state import MCP_SETUP_SECONDS, RunState, RunStopped, timed_out
from apps.agentic.specs import RunFailed


def mcp_toolset(server: Any, run: RunState) -> AbstractToolset[Any]:
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
    # Connecting and listing tools get at least MCP_SETUP_SECONDS; each tool call is bounded by LoggedToolset.
    setup = max(run.timeouts.tool, MCP_SETUP_SECONDS)
    client = Client(transport, timeout=setup, init_timeout=setup)
    return MCPToolset(client, id=f"mcp-{server.server_id}")


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
        """The failure to report when the server cannot be connected to or asked for its tools; None to let the
        error through (a refused request, a stopped run, an error of the transfer tools)."""
        if self.server is None or egress.refusal_in(exc) is not None or isinstance(exc, RunCancelled | RunStopped):
            return None
        detail = "it did not answer in time" if timed_out(exc) else f"{type(exc).__name__}: {str(exc)[:300]}"
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
            if self.timeout is None or not timed_out(exc):
                raise
            raise RunFailed(
                f"The tool {name} did not answer within {self.timeout:g} s (AGENT_TOOL_TIMEOUT_SECONDS)."
            ) from None
        output = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
        await run.line(self.agent_id, logs.tool_ended(self.agent_id, output))
        return result

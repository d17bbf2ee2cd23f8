"""The runtime's tests: a real worker, the demo model server with scripted brains, a real MCP server (the `mcp`
SDK's, over streamable HTTP and SSE) in a thread of the test process, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from django.db import transaction
from mcp.server.mcpserver import MCPServer

from apps.agentic.demo_model import DemoModelServer, ScriptedBrain
from apps.agentic.services import new_session_id, run_create
from apps.agents.models import Agent, Kind
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.agents.conftest import create
from tests.worker import thread_worker, wait_for

# Secrets distinctive enough to search every log line and row for.
MODEL_KEY = "mk-Qw7Zr2Lp9Xv4-model-header-do-not-leak"
MCP_KEY = "Bearer mcp-Ht5Ks8Nd3Jb6-do-not-leak"


@pytest.fixture(scope="module")
def worker(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock(), thread_worker():
        yield
    # The worker thread's database connection goes with the thread once collected; collected now, it no longer
    # holds the test database open when the run drops it.
    gc.collect()


@pytest.fixture
def model() -> Iterator[DemoModelServer]:
    server = DemoModelServer(ScriptedBrain())
    with server:
        yield server


@dataclass
class McpRecorder:
    """What the MCP server saw: each tool call with its arguments, the Authorization headers and the methods sent."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)  # the JSON-RPC method of each message posted
    delay: float = 0.0
    fail: bool = False  # the tool raises


class _Recording:
    """ASGI middleware keeping the Authorization header of every request."""

    def __init__(self, app: Any, recorder: McpRecorder) -> None:
        self.app, self.recorder = app, recorder

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            self.recorder.authorizations.append(headers.get(b"authorization", b"").decode())
            receive = self._reading(receive)
        await self.app(scope, receive, send)

    def _reading(self, receive: Any) -> Any:
        body = bytearray()

        async def read() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
                if not message.get("more_body") and body:
                    self._note(bytes(body))
            return message

        return read

    def _note(self, body: bytes) -> None:
        try:
            posted = json.loads(body)
        except ValueError:
            return
        for item in posted if isinstance(posted, list) else [posted]:
            if isinstance(item, dict) and "method" in item:
                self.recorder.methods.append(str(item["method"]))


def _mcp_app(recorder: McpRecorder, transport: str) -> Any:
    server: MCPServer[Any] = MCPServer("orders")

    @server.tool()
    async def order_status(order_id: str) -> str:
        """The status of an order, by its id."""
        recorder.calls.append(("order_status", {"order_id": order_id}))
        if recorder.fail:
            raise RuntimeError("The order system is down.")
        if recorder.delay:
            await asyncio.sleep(recorder.delay)
        return f"Order {order_id} was shipped on 2026-11-28."

    app = server.sse_app() if transport == "sse" else server.streamable_http_app()
    return _Recording(app, recorder)


@dataclass
class McpFixture:
    recorder: McpRecorder
    url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module", params=["streamable_http"])
def mcp(request: Any) -> Iterator[McpFixture]:
    yield from _serve_mcp(str(request.param))


@pytest.fixture(scope="module")
def mcp_sse() -> Iterator[McpFixture]:
    yield from _serve_mcp("sse")


def _serve_mcp(transport: str) -> Iterator[McpFixture]:
    recorder = McpRecorder()
    port = _free_port()
    config = uvicorn.Config(_mcp_app(recorder, transport), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10, what="the MCP server to start")
    path = "/sse" if transport == "sse" else "/mcp"
    yield McpFixture(recorder, f"http://127.0.0.1:{port}{path}")
    server.should_exit = True
    thread.join(timeout=10)


def token(tenant: Tenant, token_id: str, value: str) -> None:
    create(tenant, Kind.TOKEN, token_id, {"name": token_id, "value": value})


def mcp_server(tenant: Tenant, server_id: str, url: str, transport: str = "streamable_http") -> None:
    token(tenant, f"{server_id}-key", MCP_KEY)
    config = {
        "url": url,
        "authorizationHeaderName": "Authorization",
        "authorizationHeaderToken": {"id": f"{server_id}-key"},
    }
    body = {"name": f"Server {server_id}", "type": "custom", "enabled": True, "transport": transport, "config": config}
    create(tenant, Kind.MCP_SERVER, server_id, body)


def agent(
    tenant: Tenant,
    agent_id: str,
    url: str,
    *,
    servers: tuple[str, ...] = (),
    collaborators: tuple[str, ...] = (),
    llm: dict[str, Any] | None = None,
    **extra: Any,
) -> Agent:
    """An enabled agent with an endpoint trigger, on a self-hosted OPENAI-style model at `url`, sending MODEL_KEY in
    the X-Model-Key header."""
    if not Agent.objects.filter(tenant=tenant).exists():
        token(tenant, "model-key", MODEL_KEY)
    llm_config = llm or {
        "provider": "self_hosted_vllm",
        "model": "demo-1",
        "selfHostedParams": {
            "url": url,
            "authorizationHeaderName": "X-Model-Key",
            "authorizationHeaderToken": {"id": "model-key"},
        },
    }
    body = {
        "name": {"en": f"Agent {agent_id}"},
        "enabled": True,
        "userPrompt": "Help the customer with orders.",
        "triggers": [{"type": "endpoint"}],
        "llmConfig": llm_config,
        "mcpServers": [{"type": "custom", "mcpServer": {"id": server}} for server in servers],
        "agentCollaborations": [{"agentId": other, "description": f"Ask {other}."} for other in collaborators],
        **extra,
    }
    created = create(tenant, Kind.AGENT, agent_id, body)
    assert isinstance(created, Agent)
    return created


def start(tenant: Tenant, agent_id: str, message: str, session_id: str | None = None) -> Job:
    """An AGENT_CHAT job, committed and handed to the worker."""
    with transaction.atomic():
        job = run_create(
            tenant=tenant,
            agent=Agent.objects.get(tenant=tenant, public_id=agent_id),
            message=message,
            session_id=session_id or new_session_id(),
        )
    return job


def finished(job: Job, timeout: float = 30.0) -> Job:
    """The job once it has left in_progress."""

    def done() -> Job | None:
        current = Job.objects.filter(pk=job.pk).first()
        return current if current is not None and current.status != Job.Status.IN_PROGRESS else None

    result: Job = wait_for(done, timeout=timeout, what=f"job {job.job_id} to finish")
    return result

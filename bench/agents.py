"""Benchmark of agent runs: AGENT_CHAT jobs through the whole path (HTTP, PostgreSQL, Redis, a Celery worker on the
`agents` queue, pydantic-ai), against the demo model server with a fixed latency per call and a real MCP server.

Each run makes two model calls and one MCP tool call: the model first asks for the tool, then answers with what
it returned. For each model latency L, 200 chat-async requests are sent at once and the worker (concurrency C)
drains them. Reported: the drain rate beside the ideal C / (2L + tool), the time from each 201 to its job's
success (p50, p95), the overhead of a run over the time it spends waiting for the model and the tool
(finished - started - 2L - tool, p50), and the worker's peak memory.

    make bench                                  # all benchmarks
    .venv/bin/python bench/agents.py            # this one: L = 50, 200, 500 ms, 200 jobs, C = 4 and 8
    .venv/bin/python bench/agents.py --jobs 40 --latencies 200 --concurrency 4 --no-doc    # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import redis
import uvicorn
from run import HOST, PY, ROOT, Caller, Request, manage, publish, start_server, token_for
from transfer import children, peak_rss_mb, psql

sys.path.insert(0, str(ROOT))
from apps.agentic.demo_model import DemoModelServer, Reply

START, END = "<!-- agents:start -->", "<!-- agents:end -->"
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
DATABASE = os.environ.get("BENCH_AGENTS_DATABASE_URL", f"postgres://postgres@{HOST}:5432/aiconsole_abench")
TENANT = "abench"
TOOL_SECONDS = 0.02  # what the MCP tool takes, on purpose: a lookup in a remote system


class BenchBrain:
    """First call: ask for the MCP tool. After the tool's output: answer. Every call takes `latency` seconds."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def __call__(self, body: dict[str, Any]) -> Reply:
        last = (body.get("messages") or [{}])[-1]
        if last.get("role") == "tool":
            return Reply(text=f"Your order is on its way: {str(last.get('content'))[:80]}", delay=self.latency)
        return Reply(tool_calls=[("order_status", {"order_id": "A-1001"})], delay=self.latency)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _serve_mcp(port: int) -> None:
    """A real MCP server (the `mcp` SDK's, streamable HTTP) with one tool taking TOOL_SECONDS."""
    from mcp.server.mcpserver import MCPServer

    server: MCPServer[Any] = MCPServer("orders")

    @server.tool()
    async def order_status(order_id: str) -> str:
        """The status of an order, by its id."""
        await asyncio.sleep(TOOL_SECONDS)
        return f"Order {order_id} was shipped."

    uvicorn.run(server.streamable_http_app(), host=HOST, port=port, log_level="warning")


def _serve_model(port: int, latency: float) -> None:
    DemoModelServer(BenchBrain(latency), host=HOST, port=port).serve_forever()


@contextmanager
def own_process(serve: Callable[..., None], *args: Any) -> Iterator[int]:
    """`serve(port, *args)` in a process of its own, on a free port, until the block ends. The model and MCP
    servers stand for remote services: in processes of their own, neither waits for the other's or the benchmark's
    interpreter lock."""
    port = _free_port()
    process = multiprocessing.get_context("spawn").Process(target=serve, args=(port, *args), daemon=True)
    process.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or not process.is_alive():
                process.kill()
                sys.exit(f"{serve.__name__} did not start")
            time.sleep(0.05)
    try:
        yield port
    finally:
        process.terminate()
        process.join(10)


def prepare(env: dict[str, str]) -> None:
    dbname = env["DATABASE_URL"].rsplit("/", 1)[1]
    psql(f"DROP DATABASE IF EXISTS {dbname}")
    psql(f"CREATE DATABASE {dbname}")
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "create_tenant", TENANT)


def put(caller: Caller, path: str, body: dict[str, Any]) -> None:
    _, status, data = caller(Request("PUT", f"/ai-service/{TENANT}/agentic/{path}", body))
    if status not in (201, 204):
        sys.exit(f"PUT {path}: HTTP {status} {data[:300]!r}")


def create_agent(caller: Caller, model_url: str, mcp_url: str) -> None:
    server = {"name": "Orders", "type": "custom", "enabled": True, "transport": "streamable_http"}
    put(caller, "mcp-servers/orders", {**server, "config": {"url": mcp_url}})
    llm = {"provider": "self_hosted_vllm", "model": "bench-1", "selfHostedParams": {"url": model_url}}
    agent = {
        "name": {"en": "Order agent"},
        "enabled": True,
        "userPrompt": "Answer questions about orders with the order_status tool.",
        "triggers": [{"type": "endpoint"}],
        "llmConfig": llm,
        "mcpServers": [{"type": "custom", "mcpServer": {"id": "orders"}}],
    }
    put(caller, "agents/order-agent", agent)


def start_worker(env: dict[str, str], concurrency: int) -> subprocess.Popen[bytes]:
    command = [PY, "-m", "celery", "-A", "config", "worker", "-Q", "agents", "-c", str(concurrency), "-l", "WARNING"]
    worker = subprocess.Popen([*command, "--without-gossip", "--without-mingle"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while len(children(worker.pid)) < concurrency:
        if time.monotonic() > deadline:
            sys.exit("the worker did not start")
        time.sleep(0.2)
    time.sleep(1)
    return worker


def send_all(token: str, jobs: int, clients: int) -> dict[str, float]:
    """chat-async `jobs` times from `clients` threads; the wall-clock time each 201 arrived, by job id."""
    answered: dict[str, float] = {}
    lock = threading.Lock()
    per_client = [jobs // clients + (1 if i < jobs % clients else 0) for i in range(clients)]

    def work(count: int) -> None:
        caller = Caller(token)
        for _ in range(count):
            body = {"agentId": "order-agent", "message": "Where is my order A-1001?"}
            _, status, data = caller(Request("POST", f"/ai-service/{TENANT}/agentic/chat-async", body))
            if status != 201:
                sys.exit(f"chat-async: HTTP {status} {data[:300]!r}")
            with lock:
                answered[json.loads(data)["jobId"]] = time.time()

    threads = [threading.Thread(target=work, args=(count,)) for count in per_client]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answered


@dataclass
class Row:
    job_id: str
    status: str
    created: float
    started: float | None
    finished: float | None


def rows(ids: list[str]) -> list[Row]:
    query = (
        "SELECT job_id, status, created_at, started_at, finished_at FROM jobs_job WHERE job_id = ANY(%s) "
        "AND tenant_id = (SELECT id FROM tenants_tenant WHERE name = %s)"
    )
    with psycopg.connect(DATABASE) as conn:
        found = conn.execute(query, (ids, TENANT)).fetchall()
    stamp = lambda value: value.timestamp() if value is not None else None  # noqa: E731
    return [Row(r[0], r[1], r[2].timestamp(), stamp(r[3]), stamp(r[4])) for r in found]


def wait_done(ids: list[str], timeout: float) -> list[Row]:
    deadline = time.monotonic() + timeout
    while True:
        current = rows(ids)
        if all(row.status != "in_progress" for row in current) and len(current) == len(ids):
            return current
        if time.monotonic() > deadline:
            left = sum(row.status == "in_progress" for row in current)
            sys.exit(f"{left} of {len(ids)} runs still in progress after {timeout:.0f} s")
        time.sleep(0.2)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def one_latency(
    env: dict[str, str], token: str, latency: float, concurrency: int, args: argparse.Namespace
) -> dict[str, float]:
    with own_process(_serve_model, latency) as model_port, own_process(_serve_mcp) as mcp_port:
        create_agent(Caller(token), f"http://{HOST}:{model_port}/v1", f"http://{HOST}:{mcp_port}/mcp")
        worker = start_worker(env, concurrency)
        try:
            # One run first, so that every pool process has imported what a run needs.
            warm = send_all(token, concurrency, concurrency)
            wait_done(list(warm), 120)
            started = time.time()
            answered = send_all(token, args.jobs, args.clients)
            done = wait_done(list(answered), 600)
            memory = max((peak_rss_mb(pid) for pid in children(worker.pid)), default=0.0)
            main_memory = peak_rss_mb(worker.pid)
        finally:
            worker.terminate()
            worker.wait(30)
    failed = [row for row in done if row.status != "success"]
    if failed:
        sys.exit(f"{len(failed)} runs did not succeed, e.g. job {failed[0].job_id}: {failed[0].status}")
    ideal_run = 2 * latency + TOOL_SECONDS
    last = max(row.finished or 0.0 for row in done)
    waits = [((row.finished or 0.0) - answered[row.job_id]) * 1000 for row in done]
    overheads = [((row.finished or 0.0) - (row.started or 0.0) - ideal_run) * 1000 for row in done]
    rate = len(done) / (last - started)
    ideal = concurrency / ideal_run
    return {
        "rate": rate,
        "ideal": ideal,
        "share": rate / ideal,
        "p50": statistics.median(waits),
        "p95": p95(waits),
        "overhead": statistics.median(overheads),
        "overhead_p95": p95(overheads),
        "child_mb": memory,
        "main_mb": main_memory,
    }


def write_doc(args: argparse.Namespace, results: dict[tuple[int, int], dict[str, float]]) -> str:
    lines = [
        START,
        "## Agent runs",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} by `bench/agents.py` on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, PostgreSQL and Redis on 127.0.0.1; gunicorn and one Celery worker on the "
        "`agents` queue (prefork, concurrency C) on the same machine, with the model and MCP servers (each in a "
        "process of its own).",
        f"Each of {args.jobs} chat-async runs makes two model calls of latency L (the demo model server) and one MCP "
        f"tool call of {TOOL_SECONDS * 1000:.0f} ms (a real MCP server, streamable HTTP); all are sent at once.",
        "",
        "| C | L per model call | drain rate | ideal C / (2L + tool) | share of ideal | 201 → success p50 | p95 "
        "| overhead per run p50 | p95 | worker peak RSS (pool process / main) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (concurrency, latency_ms), r in results.items():
        lines.append(
            f"| {concurrency} | {latency_ms} ms | {r['rate']:.1f} runs/s | {r['ideal']:.1f} runs/s "
            f"| {r['share'] * 100:.0f} % | {r['p50']:.0f} ms | {r['p95']:.0f} ms | {r['overhead']:.0f} ms "
            f"| {r['overhead_p95']:.0f} ms | {r['child_mb']:.0f} MB / {r['main_mb']:.0f} MB |"
        )
    lines += [
        "",
        "Overhead: the time a run takes in the worker (claim to finish) beyond 2L + tool, i.e. everything that is "
        "not waiting for the model or the tool: building the agent, the MCP session, log lines, usage, the job's "
        "finish. 201 → success includes the time a job waits in the queue behind the others sent with it.",
        "Targets: overhead ≤ 50 ms per run at p50; at least 80 % of the ideal drain rate at L = 200 ms.",
        END,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--latencies", type=int, nargs="+", default=[50, 200, 500], help="milliseconds")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 8], help="worker concurrencies C")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    redis.Redis.from_url(BROKER).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE,
        "REDIS_URL": BROKER,
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
        "AGENT_EGRESS_ALLOWED_HOSTS": HOST,
    }
    prepare(env)
    server = start_server(env)
    results: dict[tuple[int, int], dict[str, float]] = {}
    try:
        token = token_for(env, TENANT, "ai.agent_manage", "ai.agent_read", "ai.agentexecution_manage")
        for concurrency in args.concurrency:
            env["AGENT_MAX_RUNNING_PER_TENANT"] = str(concurrency)
            for latency_ms in args.latencies:
                r = results[(concurrency, latency_ms)] = one_latency(env, token, latency_ms / 1000, concurrency, args)
                print(
                    f"C={concurrency} L={latency_ms} ms: {r['rate']:.1f}/s of ideal {r['ideal']:.1f}/s "
                    f"({r['share'] * 100:.0f} %), p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, "
                    f"overhead p50 {r['overhead']:.0f} ms"
                )
    finally:
        server.terminate()
        server.wait(10)
    publish(write_doc(args, results), args.no_doc, START, END)


if __name__ == "__main__":
    main()

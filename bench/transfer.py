"""Benchmarks of export and import jobs: the whole path (HTTP, PostgreSQL, Redis, a Celery worker).

1. Export of 100 agents (3 tools and 2 MCP servers each) and import of the bundle into a fresh tenant, answered
   synchronously: end-to-end milliseconds, and the peak memory of the worker process that ran them.
2. Throughput: many small exports (1 agent) sent by 8 clients with `Prefer: respond-async`, 4 worker processes,
   from the first request until the last job is final; against Celery's built-in ping task (no work at all)
   sent as fast as possible to the same broker and the same workers, until all are acknowledged.

    make bench                                    # both benchmarks
    .venv/bin/python bench/transfer.py --no-doc   # this one alone, printing the table
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from run import HOST, PY, ROOT, Caller, Request, manage, publish, start_server, token_for

START, END = "<!-- transfer:start -->", "<!-- transfer:end -->"
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", HOST, "-U", "postgres", "-q", "-c", sql], check=True)


def prepare(env: dict[str, str], rounds: int) -> dict[str, list[str]]:
    dbname = env["DATABASE_URL"].rsplit("/", 1)[1]
    psql(f"DROP DATABASE IF EXISTS {dbname}")
    psql(f"CREATE DATABASE {dbname}")
    manage(env, "migrate", "--noinput", "-v0")
    for name in ["xsource", "xsmall", *[f"xtarget{n}" for n in range(rounds)]]:
        manage(env, "create_tenant", name)
    big = json.loads(manage(env, "seed_agents", "xsource", "--agents", "100", "--prefix", "big"))
    small = json.loads(manage(env, "seed_agents", "xsmall", "--agents", "1", "--prefix", "one"))
    return {"big": big["agents"], "small": small["agents"]}


def start_worker(env: dict[str, str], concurrency: int) -> subprocess.Popen[bytes]:
    worker = subprocess.Popen(
        [PY, "-m", "celery", "-A", "config", "worker", "-c", str(concurrency), "-l", "WARNING", "--without-gossip"],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while len(children(worker.pid)) < concurrency:
        if time.monotonic() > deadline:
            sys.exit("the worker did not start")
        time.sleep(0.2)
    time.sleep(1)
    return worker


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(caller: Caller, request: Request) -> tuple[float, dict]:
    ms, status, data = caller(request)
    if status != 200:
        sys.exit(f"{request.path}: HTTP {status} {data[:300]!r}")
    return ms, json.loads(data)


def transfer_round_trips(env: dict[str, str], agents: list[str], rounds: int) -> dict[str, object]:
    source = Caller(token_for(env, "xsource", "ai.agent_read"))
    exports, imports = [], []
    bundle: dict = {}
    worker = start_worker(env, 1)
    try:
        for n in range(rounds):
            ms, bundle = timed(
                source, Request("POST", "/ai-service/xsource/agentic/agents/export", {"agentIds": agents})
            )
            exports.append(ms)
            target = Caller(token_for(env, f"xtarget{n}", "ai.agent_manage"))
            body = {"data": bundle["data"], "checksum": bundle["checksum"]}
            ms, result = timed(target, Request("POST", f"/ai-service/xtarget{n}/agentic/agents/import", body))
            if len(result["summary"]["agents"]) != len(agents):
                sys.exit(f"import created {len(result['summary']['agents'])} agents, not {len(agents)}")
            imports.append(ms)
        peak = max(peak_rss_mb(pid) for pid in children(worker.pid))
    finally:
        worker.terminate()
        worker.wait(30)
    return {
        "export": exports,
        "import": imports,
        "peak_mb": peak,
        "bundle_kb": len(bundle.get("data", "")) / 1024,
        "entities": len(agents) * 6,
    }


def celery_app(env: dict[str, str]) -> Any:
    sys.path.insert(0, str(ROOT))
    os.environ.update(env)
    from config.celery import app

    return app


def create_exports(token: str, agent: str, jobs: int, clients: int) -> list[str]:
    """Send `jobs` small exports from `clients` threads with Prefer: respond-async; their job ids."""
    created: list[str] = []

    def send() -> None:
        caller = Caller(token)
        body = {"agentIds": [agent]}
        for _ in range(jobs // clients):
            request = Request("POST", "/ai-service/xsmall/agentic/agents/export", body, {"Prefer": "respond-async"})
            _, status, data = caller(request)
            if status != 202:
                sys.exit(f"export: HTTP {status}")
            created.append(json.loads(data)["jobId"])

    threads = [threading.Thread(target=send) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return created


def all_acknowledged(app: Any) -> bool:
    # Tasks are acknowledged late, once they have run: an empty queue and no unacknowledged message means done.
    client = redis.Redis.from_url(BROKER)
    return not client.llen(app.conf.task_default_queue) and not client.hlen("unacked")


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 600
    while not condition():
        if time.monotonic() > deadline:
            sys.exit("timed out")
        time.sleep(0.005)


def drain_rate(app: Any, fill: Callable[[], int]) -> float:
    """Tasks per second the workers get through: the queue is filled while they do not consume, then timed
    from the moment they start until every task is acknowledged."""
    queue = app.conf.task_default_queue
    app.control.cancel_consumer(queue, reply=True)
    count = fill()
    started = time.perf_counter()
    app.control.add_consumer(queue, reply=True)
    wait_until(lambda: all_acknowledged(app))
    return count / (time.perf_counter() - started)


def send_pings(app: Any, count: int) -> int:
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            app.send_task("apps.jobs.tasks.ping", producer=producer, ignore_result=True)
    return count


def throughputs(env: dict[str, str], agent: str, jobs: int) -> dict[str, float]:
    app = celery_app(env)
    token = token_for(env, "xsmall", "ai.agent_read")
    worker = start_worker(env, 4)
    try:
        create_exports(token, agent, 40, 8)  # warm up connections and caches
        wait_until(lambda: all_acknowledged(app))
        started = time.perf_counter()
        create_exports(token, agent, jobs, 8)
        wait_until(lambda: all_acknowledged(app))
        end_to_end = jobs / (time.perf_counter() - started)
        job_rate = drain_rate(app, lambda: len(create_exports(token, agent, jobs, 8)))
        drain_rate(app, lambda: send_pings(app, 100))
        ping_rate = drain_rate(app, lambda: send_pings(app, jobs))
    finally:
        worker.terminate()
        worker.wait(30)
    check = Caller(token)
    _, _, data = check(Request("POST", "/ai-service/xsmall/jobs/search", {"q": "status:(in_progress,failure)"}))
    if json.loads(data):
        sys.exit(f"some exports did not succeed: {data[:300]!r}")
    return {"end_to_end": end_to_end, "jobs": job_rate, "pings": ping_rate}


def write_doc(rounds: int, trips: dict, jobs: int, rates: dict[str, float]) -> str:
    def row(name: str, values: list[float]) -> str:
        return f"| {name} | {statistics.median(values):.0f} | {max(values):.0f} |"

    return "\n".join(
        [
            START,
            "## Export and import jobs",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d} with `make bench` on {platform.machine()}, {os.cpu_count()} "
            "cores: gunicorn, PostgreSQL, Redis and Celery prefork workers on 127.0.0.1. End to end: the HTTP "
            "request creates the job, a worker runs it, the request answers 200 with the result.",
            "",
            f"100 agents with 3 tools and 2 MCP servers each ({trips['entities']} entities, bundle "
            f"{trips['bundle_kb']:.0f} KiB of base64); {rounds} rounds, each import into a fresh tenant; 1 worker "
            "process.",
            "",
            "| operation | median ms | slowest ms |",
            "|---|---:|---:|",
            row("export of 100 agents", trips["export"]),
            row("import of 100 agents", trips["import"]),
            "",
            f"Peak memory (VmHWM) of the worker process that ran them: **{trips['peak_mb']:.0f} MiB**.",
            "",
            f"Throughput with 4 worker processes, {jobs} small exports (1 agent each), created through the API by 8 "
            "clients with `Prefer: respond-async`:",
            "",
            "| measure | per second |",
            "|---|---:|",
            f"| export jobs, end to end: first request to last job final, the web and the workers sharing the "
            f"2 cores | {rates['end_to_end']:.0f} |",
            f"| export jobs, worker side: queue filled first, then timed until every job is final | "
            f"{rates['jobs']:.0f} |",
            f"| no-op task (`apps.jobs.tasks.ping`), same broker, workers and timing | {rates['pings']:.0f} |",
            "",
            f"Ratio of export jobs to no-op tasks (worker side): **{rates['jobs'] / rates['pings']:.2f}**.",
            "",
            "Targets: export and import of 100 agents each under 2,000 ms end to end; throughput ratio at least 0.5.",
            END,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    redis.Redis.from_url(BROKER).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get(
            "BENCH_TRANSFER_DATABASE_URL", f"postgres://postgres@{HOST}:5432/aiconsole_xbench"
        ),
        "REDIS_URL": BROKER,
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
        "JOB_WAIT_SECONDS": "30",
    }
    ids = prepare(env, args.rounds)
    server = start_server(env)
    try:
        trips = transfer_round_trips(env, ids["big"], args.rounds)
        print(f"export {statistics.median(trips['export']):.0f} ms, import {statistics.median(trips['import']):.0f} ms")
        rates = throughputs(env, ids["small"][0], args.jobs)
        print(", ".join(f"{name} {rate:.0f}/s" for name, rate in rates.items()))
    finally:
        server.terminate()
        server.wait(10)
    publish(write_doc(args.rounds, trips, args.jobs, rates), args.no_doc, START, END)


if __name__ == "__main__":
    main()

"""Mixed load on the Jobs API: 32 keep-alive connections of list, search and get-by-id requests against gunicorn with
2 workers, for a fixed time. Reports throughput and latency percentiles (p50, p95, p99) and errors.

The clients are several processes of a few threads each, so that a response is timed when it arrives rather than
when a thread gets Python's lock back. Uses the database `bench/run.py` seeded (a big and a small tenant).

    .venv/bin/python bench/load.py                      # after bench/run.py; writes docs/benchmarks.md
    .venv/bin/python bench/load.py --seconds 10 --no-doc
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import subprocess
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from run import (
    HOST,
    PORT,
    Caller,
    Request,
    bench_env,
    publish,
    run_wrk,
    sample_ids,
    start_server,
    token_for,
    wrk_requests,
)

START, END = "<!-- load:start -->", "<!-- load:end -->"


def mixed(tenant: str, ids: list[str], rng: random.Random) -> tuple[str, Request]:
    """What the upstream dashboard and API clients send most: lists (with the total), searches, single jobs."""
    roll = rng.random()
    if roll < 0.4:
        page = rng.randint(1, 5)
        headers = {"X-Total-Count": "true"} if rng.random() < 0.5 else None
        return "list", Request("GET", f"/ai-service/{tenant}/jobs?pageSize=60&pageNumber={page}", headers=headers)
    if roll < 0.7:
        q = rng.choice(["status:failure", "type:EXPORT", "status:success type:IMPORT", "status:in_progress"])
        return "search", Request("POST", f"/ai-service/{tenant}/jobs/search", {"q": q})
    return "get", Request("GET", f"/ai-service/{tenant}/jobs/{quote(rng.choice(ids))}")


def client_process(
    tokens: dict[str, str], ids: dict[str, list[str]], threads: int, until: float, out: Any, seed: int
) -> None:
    tenants = list(tokens)
    """`threads` connections sending mixed requests until `until`; puts (kind, ms, status) lists on `out`."""
    results: list[tuple[str, float, int]] = []
    lock = threading.Lock()

    def work(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        tenant = tenants[number % len(tenants)]
        caller = Caller(tokens[tenant])
        mine: list[tuple[str, float, int]] = []
        while time.time() < until:
            kind, request = mixed(tenant, ids[tenant], rng)
            try:
                ms, status, _ = caller(request)
            except OSError:
                ms, status = 0.0, 599
                caller = Caller(tokens[tenant])
            mine.append((kind, ms, status))
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put(results)


# wrk's own summary of the run, as one line of JSON: latencies in microseconds; every error it counts (connect,
# read, write, timeout, and HTTP statuses of 400 and over).
WRK_SUMMARY = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'SUMMARY {"requests": %d, "seconds": %f, "errors": %d, "p50": %f, "p95": %f, "p99": %f}\\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def wrk_load(args: argparse.Namespace, tokens: dict[str, str], ids: dict[str, list[str]]) -> dict[str, Any]:
    """The mixed load from wrk, which costs the shared machine far less than Python clients: each request drawn at
    random from 4,000 made in advance, with the tenants and kinds in the same shares."""
    rng = random.Random(1)
    tenants = list(tokens)
    pool = [(tenant, mixed(tenant, ids[tenant], rng)[1]) for n in range(4000) for tenant in [tenants[n % len(tenants)]]]
    script = [
        *wrk_requests([(tokens[tenant], request) for tenant, request in pool]),
        "init = function(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)) end",
        "request = function() return requests[math.random(#requests)] end",
        WRK_SUMMARY,
    ]
    out = run_wrk(PORT, script, args.connections, args.seconds, threads=args.wrk_threads)
    line = next((row for row in out.splitlines() if row.startswith("SUMMARY ")), None)
    if line is None:
        raise SystemExit(f"wrk said:\n{out}")
    summary = json.loads(line.removeprefix("SUMMARY "))
    return {
        **summary,
        "rps": summary["requests"] / summary["seconds"],
        "kinds": {},
        "connections": args.connections,
        "loader": f"wrk, {args.wrk_threads} threads",
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_load(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    server = start_server(env, workers=args.workers, threads=args.threads)
    try:
        tokens = {tenant: token_for(env, tenant) for tenant in args.tenants}
        ids = {tenant: sample_ids(Caller(tokens[tenant]), tenant) for tenant in args.tenants}
        for tenant in args.tenants:  # warm every gunicorn worker's caches and connections
            caller = Caller(tokens[tenant])
            for _ in range(50):
                caller(mixed(tenant, ids[tenant], random.Random(1))[1])
        if shutil.which("wrk") and not args.python_clients:
            return wrk_load(args, tokens, ids)
        processes = max(1, args.connections // args.per_process)
        out: multiprocessing.Queue[list[tuple[str, float, int]]] = multiprocessing.Queue()
        until = time.time() + args.seconds
        started = time.time()
        clients = [
            multiprocessing.Process(target=client_process, args=(tokens, ids, args.per_process, until, out, n))
            for n in range(processes)
        ]
        for client in clients:
            client.start()
        results = [row for _ in clients for row in out.get(timeout=args.seconds + 60)]
        for client in clients:
            client.join()
        elapsed = time.time() - started
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()  # a worker still busy with a request of the run
    ok = [ms for _, ms, status in results if status == 200]
    by_kind = {
        kind: [ms for k, ms, status in results if k == kind and status == 200] for kind in ("list", "search", "get")
    }
    return {
        "requests": len(results),
        "errors": sum(status != 200 for _, _, status in results),
        "rps": len(results) / elapsed,
        "p50": statistics.median(ok),
        "p95": percentile(ok, 0.95),
        "p99": percentile(ok, 0.99),
        "kinds": {kind: (len(v), percentile(v, 0.99)) for kind, v in by_kind.items() if v},
        "connections": processes * args.per_process,
        "loader": f"{processes} Python processes of {args.per_process} threads",
    }


def write_doc(args: argparse.Namespace, r: dict[str, Any]) -> str:
    kinds = ", ".join(f"{kind} {count:,} (p99 {p99:.0f} ms)" for kind, (count, p99) in r["kinds"].items())
    by_kind = f"By kind: {kinds}. " if kinds else ""
    # wrk draws every request from one pool; the Python clients keep a tenant per connection.
    share = "requests" if r["loader"].startswith("wrk") else "connections"
    return "\n".join(
        [
            START,
            "## Mixed load",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d} by `bench/load.py` on {platform.machine()}, {os.cpu_count()} "
            f"cores: {r['connections']} keep-alive connections for {args.seconds:.0f} s against gunicorn with "
            f"{args.workers} workers x {args.threads} threads on {HOST}, PostgreSQL on the same machine, the clients "
            f"({r['loader']}) too. Half the {share} use the big tenant ({args.tenants[0]}), half the small one "
            f"({args.tenants[1]}); 40 % lists of 60 (half with "
            "X-Total-Count), 30 % searches by status and type, 30 % get by id.",
            "",
            "| requests | errors | throughput | p50 | p95 | p99 |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {r['requests']:,} | {r['errors']} | {r['rps']:,.0f} requests/s | {r['p50']:.1f} ms | {r['p95']:.1f} ms "
            f"| {r['p99']:.1f} ms |",
            "",
            f"{by_kind}Target: p99 at most 100 ms, no errors.",
            END,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--per-process", type=int, default=8, help="connections (threads) per client process")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--tenants", nargs=2, default=["big001", "small001"], help="a big and a small tenant")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk's threads, when wrk is installed")
    parser.add_argument("--python-clients", action="store_true", help="Python clients even when wrk is installed")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    r = run_load(args, bench_env())
    print(json.dumps({k: v for k, v in r.items() if k != "kinds"}), r["kinds"])
    publish(write_doc(args, r), args.no_doc, START, END)


if __name__ == "__main__":
    main()

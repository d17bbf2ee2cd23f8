"""Benchmarks of the Jobs API through the full HTTP stack (gunicorn, token auth, PostgreSQL).

Seeds one tenant with 10,000,000 jobs and 99 tenants with 10,000 each, starts gunicorn on 127.0.0.1, and times
each scenario on the big tenant and on a small one side by side (requests alternate between the two, so
noise on this shared machine hits both alike). Then the floor: the throughput of get by id, list and search at 8
connections, ours and that of bench/floor.py (the same database work with no framework, under the same gunicorn
settings), side by side. Writes the tables into docs/benchmarks.md.

    make bench                      # full size
    .venv/bin/python bench/run.py --big 100000 --small 10000 --small-tenants 9   # a quick look
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
HOST, PORT = "127.0.0.1", int(os.environ.get("BENCH_PORT", "8123"))  # another port when benches run side by side
FLOOR_PORT = PORT + 1
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- jobs-api:start -->", "<!-- jobs-api:end -->"
FLOOR_START, FLOOR_END = "<!-- jobs-floor:start -->", "<!-- jobs-floor:end -->"


@dataclass
class Request:
    method: str
    path: str
    body: dict[str, str] | None = None
    headers: dict[str, str] | None = None


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def prepare_database(env: dict[str, str], args: argparse.Namespace) -> None:
    dbname = env["DATABASE_URL"].rsplit("/", 1)[1]
    admin = ["psql", "-h", HOST, "-U", "postgres", "-q", "-c"]
    subprocess.run([*admin, f"DROP DATABASE IF EXISTS {dbname}"], check=True)
    subprocess.run([*admin, f"CREATE DATABASE {dbname}"], check=True)
    manage(env, "migrate", "--noinput", "-v0")
    print(manage(env, "seed_jobs", "--tenants", "1", "--jobs-per-tenant", str(args.big), "--prefix", "big").strip())
    print(
        manage(
            env,
            "seed_jobs",
            "--tenants",
            str(args.small_tenants),
            "--jobs-per-tenant",
            str(args.small),
            "--prefix",
            "small",
            "--seed",
            "2",
        ).strip()
    )


def bench_env() -> dict[str, str]:
    """The environment the benchmarks' servers run in: the seeded database, no broker, production settings."""
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@{HOST}:5432/aiconsole_bench"),
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
    }
    env.pop("REDIS_URL", None)
    return env


def start_server(
    env: dict[str, str], app: str = "config.wsgi", port: int = PORT, workers: int = 3, threads: int = 3
) -> subprocess.Popen[bytes]:
    """gunicorn serving `app`: the API, or the floor under the very same settings."""
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            app,
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--log-level",
            "warning",
            # No control socket: the floor and ours run side by side, and each would take the one path per user.
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            http.client.HTTPConnection(HOST, port, timeout=1).request("GET", "/")
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit("gunicorn did not start")


def token_for(env: dict[str, str], tenant: str, *scopes: str) -> str:
    flags = [arg for scope in scopes or ("ai.agent_read",) for arg in ("--scope", scope)]
    client = json.loads(manage(env, "create_api_client", tenant, *flags))
    conn = http.client.HTTPConnection(HOST, PORT)
    form = f"grant_type=client_credentials&client_id={client['client_id']}&client_secret={client['client_secret']}"
    conn.request("POST", "/oauth/token", form, {"Content-Type": "application/x-www-form-urlencoded"})
    return str(json.loads(conn.getresponse().read())["access_token"])


class Caller:
    """One keep-alive connection with a token."""

    def __init__(self, token: str, port: int = PORT) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def __call__(self, request: Request) -> tuple[float, int, bytes]:
        body = json.dumps(request.body) if request.body is not None else None
        started = time.perf_counter()
        try:
            response = self._send(request, body)
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the idle keep-alive connection: open another, as any client would.
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            started = time.perf_counter()
            response = self._send(request, body)
        data = response.read()
        return (time.perf_counter() - started) * 1000, response.status, data

    def _send(self, request: Request, body: str | None) -> http.client.HTTPResponse:
        self.conn.request(request.method, request.path, body, {**self.auth, **(request.headers or {})})
        return self.conn.getresponse()


def sample_ids(caller: Caller, tenant: str) -> list[str]:
    """Ids from several depths of the tenant's jobs (fewer when it has fewer jobs)."""
    ids: list[str] = []
    for page in (1, 5, 20, 80):
        _, _, data = caller(Request("GET", f"/ai-service/{tenant}/jobs?pageSize=1000&pageNumber={page}&fields=id"))
        jobs = json.loads(data)
        if not isinstance(jobs, list) or not jobs:
            break
        ids += [job["id"] for job in jobs]
    return ids


def scenarios(word: str) -> dict[str, Callable[[str, list[str]], Request]]:
    return {
        "list, default sort": lambda t, ids: Request("GET", f"/ai-service/{t}/jobs"),
        "search status+type": lambda t, ids: Request(
            "POST", f"/ai-service/{t}/jobs/search", {"q": "status:failure type:EXPORT"}
        ),
        f"search message:~{word}": lambda t, ids: Request(
            "POST", f"/ai-service/{t}/jobs/search", {"q": f"message:~{word}"}
        ),
        "get by id": lambda t, ids: Request("GET", f"/ai-service/{t}/jobs/{quote(random.choice(ids))}"),
        "page 150 of 60": lambda t, ids: Request("GET", f"/ai-service/{t}/jobs?pageSize=60&pageNumber=150"),
        # Page 1,000 of 10 is the small tenant's last page (10,000 jobs): the same depth in both tenants.
        "page 1,000 of 10": lambda t, ids: Request("GET", f"/ai-service/{t}/jobs?pageSize=10&pageNumber=1000"),
        "page 1,000 of 60": lambda t, ids: Request("GET", f"/ai-service/{t}/jobs?pageSize=60&pageNumber=1000"),
        "list + X-Total-Count": lambda t, ids: Request(
            "GET", f"/ai-service/{t}/jobs", headers={"X-Total-Count": "true"}
        ),
        "search status + X-Total-Count": lambda t, ids: Request(
            "POST", f"/ai-service/{t}/jobs/search", {"q": "status:failure"}, headers={"X-Total-Count": "true"}
        ),
        "search status+type + X-Total-Count": lambda t, ids: Request(
            "POST",
            f"/ai-service/{t}/jobs/search",
            {"q": "status:(success,failure) type:EXPORT"},
            headers={"X-Total-Count": "true"},
        ),
    }


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def measure(
    callers: dict[str, Caller], ids: dict[str, list[str]], make: Callable[..., Request], n: int
) -> dict[str, dict[str, float]]:
    timings: dict[str, list[float]] = {tenant: [] for tenant in callers}
    for i in range(n + 10):
        for tenant, caller in callers.items():
            ms, status, _ = caller(make(tenant, ids[tenant]))
            if status != 200:
                sys.exit(f"{tenant}: HTTP {status}")
            if i >= 10:  # the first requests warm caches and connections
                timings[tenant].append(ms)
    return {t: {"median": statistics.median(v), "p95": p95(v)} for t, v in timings.items()}


# The scenarios bench/floor.py serves too.
FLOOR_SCENARIOS = ("get by id", "list, default sort", "search status+type")


def throughput(port: int, token: str, requests: list[Request], clients: int, seconds: float) -> float:
    """Requests per second of a closed loop of `clients` keep-alive connections cycling through `requests`: wrk
    when installed (it costs the machine least), else Python threads (whose own cost bounds what they measure)."""
    if shutil.which("wrk"):
        return _wrk(port, token, requests, clients, seconds)
    done = [0] * clients
    stop_at = time.perf_counter() + seconds

    def work(slot: int) -> None:
        caller = Caller(token, port)
        while time.perf_counter() < stop_at:
            _, status, _ = caller(requests[(slot * 97 + done[slot]) % len(requests)])
            if status != 200:
                sys.exit(f"port {port}: HTTP {status}")
            done[slot] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def _wrk(port: int, token: str, requests: list[Request], clients: int, seconds: float) -> float:
    lines = [*wrk_requests([(token, request) for request in requests])]
    lines += [
        "local i = math.random(#requests)",
        "request = function() i = i % #requests + 1; return requests[i] end",
    ]
    out = run_wrk(port, lines, clients, seconds)
    errors = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if "Non-2xx" in out or (errors is not None and any(int(n) for n in errors.groups()[:3])):
        sys.exit(f"port {port}: wrk saw errors:\n{out}")
    if errors is not None and int(errors.group(4)):
        # No request can take the 10 s timeout within a shorter run: wrk counts a connection it had to open again.
        print(f"port {port}: wrk counted {errors.group(4)} timeout(s) in a {seconds:g} s run")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        sys.exit(f"wrk said:\n{out}")
    return float(found.group(1))


def wrk_requests(requests: list[tuple[str, Request]]) -> list[str]:
    """Lua for wrk: a table `requests` of the (token, request) pairs, each formatted once, ready to send."""

    def lua(text: str) -> str:
        return json.dumps(text)  # a JSON string is a valid Lua string for these (ASCII) values

    lines = ["local requests = {}"]
    for n, (token, request) in enumerate(requests, 1):
        body = lua(json.dumps(request.body)) if request.body is not None else "nil"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(request.headers or {})}
        table = ", ".join(f"[{lua(k)}] = {lua(v)}" for k, v in headers.items())
        lines.append(f"requests[{n}] = wrk.format({lua(request.method)}, {lua(request.path)}, {{{table}}}, {body})")
    return lines


def run_wrk(port: int, script: list[str], clients: int, seconds: float, threads: int = 2) -> str:
    """wrk's output for `clients` keep-alive connections on `threads` threads, running the Lua `script`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write("\n".join(script))
    try:
        done = subprocess.run(
            [
                "wrk",
                f"-t{min(threads, clients)}",
                f"-c{clients}",
                f"-d{seconds:g}s",
                "-s",
                file.name,
                f"http://{HOST}:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(file.name)
    return done.stdout


def floor_ratios(
    token: str, tenant: str, ids: list[str], seconds: float, rounds: int
) -> dict[str, tuple[float, float]]:
    """{scenario: (our requests/s, the floor's)} at 8 connections, each the median of `rounds` runs. The two
    servers take turns, run by run and first one then the other first, so that a busy moment on this shared machine
    hits both; one run alone moved by a tenth from one run to the next."""
    made = scenarios("refund")
    results = {}
    for name in FLOOR_SCENARIOS:
        requests = [made[name](tenant, ids) for _ in range(500)]
        runs: dict[int, list[float]] = {PORT: [], FLOOR_PORT: []}
        for turn in range(rounds):
            for port in (PORT, FLOOR_PORT) if turn % 2 == 0 else (FLOOR_PORT, PORT):
                runs[port].append(throughput(port, token, requests, clients=8, seconds=seconds))
        ours, floor = statistics.median(runs[PORT]), statistics.median(runs[FLOOR_PORT])
        results[name] = (ours, floor)
        print(f"{name:28} {ours:7.0f} requests/s, floor {floor:7.0f}: {ours / floor:.2f}  {runs}")
    return results


def same_answers(token: str, tenant: str, ids: list[str]) -> None:
    """The floor answers each floor scenario as the API does, or its numbers would compare unlike work."""
    made = scenarios("refund")
    for name in FLOOR_SCENARIOS:
        request = made[name](tenant, ids)
        ours, floor = Caller(token)(request), Caller(token, FLOOR_PORT)(request)
        if (ours[1], json.loads(ours[2])) != (floor[1], json.loads(floor[2])):
            sys.exit(f"{name}: the floor answers otherwise than the API:\n{ours[2][:300]!r}\n{floor[2][:300]!r}")


def write_doc(args: argparse.Namespace, results: dict[str, dict[str, dict[str, float]]], big: str, small: str) -> str:
    lines = [
        START,
        "## Jobs API",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} with `make bench` on {platform.machine()}, "
        f"{os.cpu_count()} cores, PostgreSQL, gunicorn (3 workers x 3 threads) on 127.0.0.1; the client runs on "
        f"the same machine. Big tenant: {args.big:,} jobs; small tenant: {args.small:,} jobs "
        f"(plus {args.small_tenants - 1} more tenants of that size). {args.requests} requests per scenario and "
        "tenant, alternating between the two; milliseconds per request, full HTTP round trip with token auth.",
        "",
        f"| scenario | median {args.big:,} | p95 {args.big:,} | median {args.small:,} | p95 {args.small:,} "
        "| ratio of medians |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, result in results.items():
        b, s = result[big], result[small]
        lines.append(
            f"| {name} | {b['median']:.1f} | {b['p95']:.1f} | {s['median']:.1f} | {s['p95']:.1f} "
            f"| {b['median'] / s['median']:.2f} |"
        )
    lines += [
        "",
        "Targets: every median at the big size at most 20 ms, and big/small at most 1.3 for every scenario, the "
        "totals (X-Total-Count with no q, and with a status/type q, answered from the kept counts) included. Page "
        f"1,000 of 60 (job 59,941 on) lies past the end of a small tenant of {args.small:,} jobs, which answers an "
        "empty page at once: its ratio compares unlike work. Page 1,000 of 10 is the small tenant's last page, "
        "which it reads from its end (a page nearer the end than the start is read backwards when the kept counts "
        "give the total), while the big tenant walks 9,990 index entries to it.",
        END,
    ]
    return "\n".join(lines)


def write_floor_doc(args: argparse.Namespace, floor: dict[str, tuple[float, float]], load: float) -> str:
    loader = "wrk, 2 threads" if shutil.which("wrk") else "Python threads"
    lines = [
        FLOOR_START,
        "## Jobs API against the floor",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} with `make bench` on {platform.machine()}, {os.cpu_count()} cores "
        f"(load average {load:.1f} when it started): requests per second at 8 keep-alive connections ({loader}) "
        f"for {args.seconds:g} s per server and scenario, {args.rounds} times, taking turns (the median of each), "
        f"on the tenant of {args.big:,} jobs. The floor "
        "(bench/floor.py) does the same database work with no framework (the token joined to its client and "
        "tenant, then the job or the page, with psycopg and orjson) under the same gunicorn settings, and answers "
        "the same JSON. Ours as a share of it is what the framework and "
        "our code cost. Targets: get by id at least 0.5, list and search at least 0.4.",
        "",
        "| scenario | ours, requests/s | floor, requests/s | ours / floor |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {ours:,.0f} | {bare:,.0f} | {ours / bare:.2f} |" for name, (ours, bare) in floor.items()),
        FLOOR_END,
    ]
    return "\n".join(lines)


def update_doc(section: str, start: str = START, end: str = END) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\nWritten by `make bench`.\n\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)


def publish(section: str, no_doc: bool, start: str = START, end: str = END) -> None:
    """Print the section (--no-doc), or write it into docs/benchmarks.md between its markers."""
    if no_doc:
        print(section)
    else:
        update_doc(section, start, end)
        print(f"wrote {DOC.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", type=int, default=10_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--small-tenants", type=int, default=99)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=6, help="of load per server, floor scenario and round")
    parser.add_argument("--rounds", type=int, default=5, help="floor runs per server and scenario (the median)")
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database from the last run")
    parser.add_argument("--no-doc", action="store_true", help="print the table, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    env = bench_env()
    if args.reuse:
        manage(env, "migrate", "--noinput", "-v0")
    else:
        prepare_database(env, args)
    server = start_server(env)
    floor_server = start_server(env, "bench.floor:app", FLOOR_PORT)
    try:
        big, small = "big001", "small001"
        callers = {big: Caller(token_for(env, big)), small: Caller(token_for(env, small))}
        ids = {tenant: sample_ids(caller, tenant) for tenant, caller in callers.items()}
        results: dict[str, dict[str, dict[str, float]]] = {}
        for name, make in scenarios("refund").items():
            results[name] = measure(callers, ids, make, args.requests)
            print(f"{name:28} {results[name][big]['median']:7.2f} ms  {results[name][small]['median']:7.2f} ms")
        token = callers[big].auth["Authorization"].split()[1]
        same_answers(token, big, ids[big])
        load = os.getloadavg()[0]
        floor = floor_ratios(token, big, ids[big], args.seconds, args.rounds)
    finally:
        for one in (server, floor_server):
            one.terminate()
            one.wait(10)
    publish(write_doc(args, results, big, small), args.no_doc)
    publish(write_floor_doc(args, floor, load), args.no_doc, FLOOR_START, FLOOR_END)


if __name__ == "__main__":
    main()

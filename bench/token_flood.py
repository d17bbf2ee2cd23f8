"""The token endpoint under a flood of wrong secrets, and whether its timing tells client ids apart.

Serves a checkout with gunicorn as the Procfile does (2 workers x 4 threads) on 127.0.0.1 over PostgreSQL, creates
a victim tenant (with jobs) and an attacked tenant whose client id is known, then measures:

1. the victim's `GET /ai-service/{tenant}/jobs` alone (sequential requests): median and p95;
2. the same while FLOOD senders post wrong secrets for the known client id, as fast as answers come back;
3. sequential, interleaved token requests with a wrong secret for the known client id and with an unknown client id:
   medians (the difference is what an attacker could read).

Only 127.0.0.1 is ever targeted; every loop is bounded in count and in time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aic_tokens .venv/bin/python bench/token_flood.py
    ... bench/token_flood.py --root /path/to/another/checkout      # the same against other code (before/after)
    ... bench/token_flood.py --no-rate-limits                       # the cost of the requests themselves
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

HOST = "127.0.0.1"  # never anything else
ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
VICTIM, ATTACKED = "victim", "attacked"
MAX_SECONDS = 120  # hard cap of any phase


def manage(root: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PY, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def prepare(root: Path, env: dict[str, str], jobs: int) -> dict[str, str]:
    dbname = env["DATABASE_URL"].rsplit("/", 1)[1]
    admin = ["psql", "-h", HOST, "-U", "postgres", "-q", "-c"]
    subprocess.run([*admin, f"DROP DATABASE IF EXISTS {dbname}"], check=True)
    subprocess.run([*admin, f"CREATE DATABASE {dbname}"], check=True)
    manage(root, env, "migrate", "--noinput", "-v0")
    manage(root, env, "seed_jobs", "--tenant", VICTIM, "--jobs-per-tenant", str(jobs))
    manage(root, env, "create_tenant", ATTACKED)
    victim = json.loads(manage(root, env, "create_api_client", VICTIM, "--scope", "ai.agent_read"))
    attacked = json.loads(manage(root, env, "create_api_client", ATTACKED, "--scope", "ai.agent_read"))
    return {
        "victim_id": victim["client_id"],
        "victim_secret": victim["client_secret"],
        "known_id": attacked["client_id"],
    }


def start_server(root: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    gunicorn = [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--bind", f"{HOST}:{port}", "--no-control-socket"]
    server = subprocess.Popen(
        [*gunicorn, "--workers", "2", "--threads", "4", "--log-level", "warning"], cwd=root, env=env
    )
    for _ in range(150):
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=1)
            conn.request("GET", "/")
            conn.getresponse().read()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit("gunicorn did not start")


def call(port: int, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    started = time.perf_counter()
    conn.request(method, path, body, headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return (time.perf_counter() - started) * 1000, response.status, data


def token_form(client_id: str, secret: str) -> str:
    return urlencode({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def victim_latencies(port: int, token: str, count: int, deadline: float) -> list[float]:
    auth = {"Authorization": f"Bearer {token}"}
    out: list[float] = []
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        ms, status, _ = call(port, "GET", f"/ai-service/{VICTIM}/jobs?pageSize=20", headers=auth)
        if status != 200:
            sys.exit(f"the victim's request answered {status}")
        out.append(ms)
    return out


def flood(
    port: int, client_id: str, senders: int, stop: threading.Event, statuses: Counter[int]
) -> list[threading.Thread]:
    lock = threading.Lock()

    def send() -> None:
        for _ in range(10_000):  # bounded; the stop event normally ends it first
            if stop.is_set():
                return
            try:
                _, status, _ = call(port, "POST", "/oauth/token", token_form(client_id, "wrong-secret"), FORM)
            except OSError:
                status = 0
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=send, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    return threads


def summary(values: list[float]) -> str:
    if not values:
        return "no sample"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
    parser.add_argument("--port", type=int, default=8124)
    parser.add_argument("--flood", type=int, default=48, help="concurrent wrong-secret senders")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the flood lasts")
    parser.add_argument("--samples", type=int, default=40, help="victim requests per phase")
    parser.add_argument("--timing-pairs", type=int, default=30, help="wrong-secret / unknown-client pairs")
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--no-rate-limits", action="store_true", help="raise the token endpoint's limits out of reach")
    args = parser.parse_args()
    env = {**os.environ, "DJANGO_DEBUG": "false", "LOG_LEVEL": "ERROR"}
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aic_tokens")
    if not env["DATABASE_URL"].startswith("postgres://postgres@127.0.0.1:"):
        sys.exit("DATABASE_URL must be a PostgreSQL database on 127.0.0.1 (it is dropped and created again)")
    if args.no_rate_limits:
        env |= {"OAUTH_TOKEN_RATE_PER_CLIENT": "1000000/s", "OAUTH_TOKEN_RATE_PER_ADDRESS": "1000000/s"}
    root = args.root.resolve()
    ids = prepare(root, env, args.jobs)
    server = start_server(root, env, args.port)
    try:
        _, status, body = call(
            args.port, "POST", "/oauth/token", token_form(ids["victim_id"], ids["victim_secret"]), FORM
        )
        if status != 200:
            sys.exit(f"no token for the victim: {status} {body!r}")
        token = json.loads(body)["access_token"]
        victim_latencies(args.port, token, 5, time.monotonic() + 30)  # warm both workers
        alone = victim_latencies(args.port, token, args.samples, time.monotonic() + MAX_SECONDS)

        stop, statuses = threading.Event(), Counter[int]()
        threads = flood(args.port, ids["known_id"], args.flood, stop, statuses)
        flood_started = time.monotonic()
        time.sleep(min(2.0, args.seconds / 4))  # let the flood build up
        during = victim_latencies(args.port, token, args.samples, flood_started + min(args.seconds, MAX_SECONDS))
        remaining = flood_started + min(args.seconds, MAX_SECONDS) - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        stop.set()
        for thread in threads:
            thread.join(timeout=70)
        flood_seconds = time.monotonic() - flood_started

        time.sleep(2)
        wrong: list[float] = []
        unknown: list[float] = []
        timing_statuses: Counter[str] = Counter()
        for n in range(args.timing_pairs):
            for label, client_id, out in (
                ("wrong", ids["known_id"], wrong),
                ("unknown", f"no-such-client-{n:04d}", unknown),
            ):
                ms, status, _ = call(args.port, "POST", "/oauth/token", token_form(client_id, "wrong-secret"), FORM)
                timing_statuses[f"{label}:{status}"] += 1
                out.append(ms)
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"checkout: {root}; rate limits: {'raised out of reach' if args.no_rate_limits else 'as configured'}")
    print(f"victim GET /jobs alone:                {summary(alone)}")
    print(f"victim GET /jobs during the flood:     {summary(during)}")
    total = sum(statuses.values())
    print(
        f"flood: {args.flood} senders, {flood_seconds:.1f} s, {total} token requests "
        f"({total / flood_seconds:.0f}/s), statuses {dict(sorted(statuses.items()))}"
    )
    print(f"wrong secret, known client id:         {summary(wrong)}")
    print(f"unknown client id:                     {summary(unknown)}")
    print(f"timing statuses: {dict(sorted(timing_statuses.items()))}")


if __name__ == "__main__":
    main()

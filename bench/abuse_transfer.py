"""Abuse of export/import, measured through a real gunicorn and Celery worker on PostgreSQL and Redis.

1. Flood between tenants: a tenant queues 400 exports and holds 16 synchronous ones; meanwhile another tenant
   exports one agent and lists its jobs. Seconds for those two, without and with the flood.
2. Memory: the tenant makes 50 exports of ~4 MB each; one GET /jobs lists them all. The growth of the resident
   memory (VmRSS) of the gunicorn workers over that request.
3. A 4 MB export imported into another tenant, synchronously: status and seconds.

Every loop is bounded in count and time, and only 127.0.0.1 is called. The database named by --database is
dropped and made again.

    .venv/bin/python bench/abuse_transfer.py                       # this checkout
    .venv/bin/python bench/abuse_transfer.py --root /path/to/other  # the same, against another checkout's code
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
PY = str(HERE / ".venv" / "bin" / "python")
HOST = "127.0.0.1"
QUEUED, SYNCHRONOUS, BIG_EXPORTS, BIG_PROMPT = 400, 16, 50, 3_000_000


class Server:
    def __init__(self, root: Path, env: dict[str, str], port: int) -> None:
        self.port = port
        command = [
            PY,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            "4",
            "--no-control-socket",
        ]
        self.process = subprocess.Popen(
            [*command, "--threads", "4", "--timeout", "120", "--log-level", "warning"], cwd=root, env=env
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.call("GET", "/", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        sys.exit("gunicorn did not start")

    def call(self, method: str, path: str, body: Any = None, token: str = "", timeout: float = 120, **headers: str):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        sent = dict(headers)
        if token:
            sent["Authorization"] = f"Bearer {token}"
        payload = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            conn.request(method, path, payload, sent)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        return response.status, data, time.perf_counter() - started

    def worker_rss_mb(self) -> dict[int, float]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        out = {}
        for pid in map(int, children):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1]) / 1024
        return out

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def manage(root: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [PY, "manage.py", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout


def token_for(server: Server, root: Path, env: dict[str, str], tenant: str) -> str:
    client = json.loads(
        manage(root, env, "create_api_client", tenant, "--scope", "ai.agent_read", "--scope", "ai.agent_manage")
    )
    form = f"grant_type=client_credentials&client_id={client['client_id']}&client_secret={client['client_secret']}"
    conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
    conn.request("POST", "/oauth/token", form, {"Content-Type": "application/x-www-form-urlencoded"})
    return str(json.loads(conn.getresponse().read())["access_token"])


def prepare(root: Path, env: dict[str, str], database: str) -> dict[str, str]:
    for sql in (f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", f"CREATE DATABASE {database}"):
        subprocess.run(["psql", "-h", HOST, "-U", "postgres", "-q", "-c", sql], check=True)
    subprocess.run(["redis-cli", "-u", env["REDIS_URL"], "FLUSHDB"], check=True, capture_output=True)
    manage(root, env, "migrate", "--noinput", "-v0")
    for name in ("flood", "other", "target"):
        manage(root, env, "create_tenant", name)
    flood = json.loads(manage(root, env, "seed_agents", "flood", "--agents", "8", "--prefix", "f"))["agents"][0]
    other = json.loads(manage(root, env, "seed_agents", "other", "--agents", "2", "--prefix", "o"))["agents"]
    # One agent with a 3 MB prompt, written straight to the table (the API of older code takes no such body).
    manage(
        root,
        env,
        "shell",
        "-c",
        "from apps.agents.models import Agent; "
        f"a = Agent.objects.get(tenant__name='other', public_id='{other[-1]}'); "
        f"a.body = {{**a.body, 'userPrompt': 'Answer politely. ' * {BIG_PROMPT // 17}}}; a.save()",
    )
    return {"flood": flood, "other": other[0], "big": other[-1]}


def start_worker(root: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [PY, "-m", "celery", "-A", "config", "worker", "-c", "2", "-l", "WARNING", "--without-gossip"]
    worker = subprocess.Popen(command, cwd=root, env=env)
    time.sleep(8)
    return worker


def other_tenant_calls(server: Server, token: str, agent: str) -> tuple[float, float, int]:
    """The other tenant exports one agent and lists its jobs, both at once."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        exporting = pool.submit(
            server.call, "POST", "/ai-service/other/agentic/agents/export", {"agentIds": [agent]}, token
        )
        listing = pool.submit(server.call, "GET", "/ai-service/other/jobs?pageSize=10&fields=status", token=token)
        status, _, export_s = exporting.result(timeout=300)
        _, _, list_s = listing.result(timeout=300)
    return export_s, list_s, status


def flood(server: Server, token: str, agent: str, other_token: str, other_agent: str) -> dict[str, Any]:
    path, body = "/ai-service/flood/agentic/agents/export", {"agentIds": [agent]}
    with ThreadPoolExecutor(max_workers=8) as pool:
        queued = list(
            pool.map(lambda _: server.call("POST", path, body, token, Prefer="respond-async")[0], range(QUEUED))
        )
    with ThreadPoolExecutor(max_workers=SYNCHRONOUS) as pool:
        held = [pool.submit(server.call, "POST", path, body, token) for _ in range(SYNCHRONOUS)]
        time.sleep(1.0)
        export_s, list_s, status = other_tenant_calls(server, other_token, other_agent)
        synchronous = [future.result(timeout=300)[0] for future in held]
    counts: dict[str, int] = {}
    for code in queued + synchronous:
        counts[str(code)] = counts.get(str(code), 0) + 1
    return {
        "other_export_s": round(export_s, 2),
        "other_export_status": status,
        "other_list_s": round(list_s, 2),
        "flooder_statuses": counts,
    }


def memory(server: Server, token: str, agent: str) -> dict[str, Any]:
    made, started = 0, time.monotonic()
    while made < BIG_EXPORTS and time.monotonic() - started < 600:
        status, _, _ = server.call("POST", "/ai-service/other/agentic/agents/export", {"agentIds": [agent]}, token)
        made += status == 200
        if status != 200:
            time.sleep(1)
    time.sleep(2)
    before = server.worker_rss_mb()
    status, data, seconds = server.call("GET", "/ai-service/other/jobs?pageSize=60", token=token, timeout=600)
    after = server.worker_rss_mb()
    growth = max(after[pid] - before.get(pid, after[pid]) for pid in after)
    return {
        "exports": made,
        "list_status": status,
        "list_mb": round(len(data) / 1e6, 1),
        "list_s": round(seconds, 2),
        "worker_growth_mb": round(growth, 1),
    }


def drained(server: Server, token: str, tenant: str, limit: float = 900) -> float:
    """Seconds until the tenant has no job in progress (at most `limit`)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        _, data, _ = server.call(
            "GET", f"/ai-service/{tenant}/jobs?q=status:in_progress&pageSize=1&fields=id", token=token
        )
        if json.loads(data) == []:
            break
        time.sleep(2)
    return round(time.monotonic() - started, 1)


def big_import(server: Server, token: str, target_token: str, agent: str) -> dict[str, Any]:
    status, data, _ = server.call("POST", "/ai-service/other/agentic/agents/export", {"agentIds": [agent]}, token)
    exported = json.loads(data)
    if status == 202:  # the wait ran out: read the result from the job once it is done
        drained(server, token, "other")
        _, data, _ = server.call("GET", f"/ai-service/other/jobs/{exported['jobId']}", token=token)
        exported = json.loads(data)["exportResult"]
    body = json.dumps({"data": exported["data"], "checksum": exported["checksum"]}).encode()
    try:
        status, _, seconds = server.call("POST", "/ai-service/target/agentic/agents/import", body, target_token)
    except OSError as exc:  # the server closed the connection without reading the body
        return {"body_mb": round(len(body) / 1e6, 2), "status": type(exc).__name__, "seconds": None}
    return {"body_mb": round(len(body) / 1e6, 2), "status": status, "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout whose code is measured")
    parser.add_argument("--database", default="aic_transfer")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--port", type=int, default=8764)
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@{HOST}:5432/{args.database}",
        "REDIS_URL": args.redis,
        "APP_VAR_DIR": str(args.root / "var"),
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "JOB_WAIT_SECONDS": "10",
    }
    ids = prepare(args.root, env, args.database)
    server = Server(args.root, env, args.port)
    worker = start_worker(args.root, env)
    try:
        tokens = {name: token_for(server, args.root, env, name) for name in ("flood", "other", "target")}
        quiet = [other_tenant_calls(server, tokens["other"], ids["other"]) for _ in range(3)]
        results: dict[str, Any] = {
            "quiet": {
                "other_export_s": round(statistics.median(q[0] for q in quiet), 2),
                "other_list_s": round(statistics.median(q[1] for q in quiet), 2),
            },
            "flood": flood(server, tokens["flood"], ids["flood"], tokens["other"], ids["other"]),
        }
        print(json.dumps(results), file=sys.stderr, flush=True)
        results["flood"]["drained_after_s"] = drained(server, tokens["flood"], "flood")
        results["import_4mb"] = big_import(server, tokens["other"], tokens["target"], ids["big"])
        print(json.dumps(results), file=sys.stderr, flush=True)
        results["memory"] = memory(server, tokens["other"], ids["big"])
        print(json.dumps(results, indent=2))
    finally:
        server.stop()
        worker.terminate()
        worker.wait(timeout=60)


if __name__ == "__main__":
    main()

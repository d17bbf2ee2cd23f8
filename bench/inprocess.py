"""The Jobs API and the floor (bench/floor.py) called in one process, with no server and no network: the time and
the CPU our code takes per request, against the floor's, for get by id, list and search. Where bench/run.py's floor
ratios measure everything a request costs (gunicorn, the client, PostgreSQL), this isolates the application, so a
change to the hot path can be measured on its own, checkout against checkout, even on a busy machine (CPU time
counts only this process).

Uses the database bench/run.py seeded (BENCH_DATABASE_URL, a tenant named big001); adds an API client to it.

    .venv/bin/python bench/inprocess.py                       # every scenario, 1,000 requests each
    .venv/bin/python bench/inprocess.py --requests 300 list   # one scenario
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from run import ROOT, bench_env

sys.path.insert(0, str(ROOT))
os.environ.update(bench_env())

SCENARIOS = ("get", "list", "search")
SEARCH_BODY = b'{"q": "status:failure type:EXPORT"}'
App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def caller_token(tenant_name: str) -> str:
    """A bearer token for a new API client of the tenant, stored as the token endpoint stores one."""
    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model

    from apps.accounts.services import api_client_create
    from apps.tenants.models import Tenant

    tenant = Tenant.objects.get(name=tenant_name)
    client = api_client_create(tenant=tenant, scopes=["ai.agent_read"]).client
    raw = secrets.token_urlsafe(24)
    get_access_token_model().objects.create(
        application=client,
        token="",
        token_checksum=hashlib.sha256(raw.encode()).hexdigest(),
        expires=timezone.now() + timedelta(hours=1),
        scope=f"ai.agent_read tenant={tenant_name}",
    )
    return raw


def job_ids(tenant_name: str) -> list[str]:
    from apps.jobs.models import Job

    return list(Job.objects.filter(tenant__name=tenant_name).values_list("job_id", flat=True)[:200])


def environ(scenario: str, tenant: str, token: str, job_id: str) -> dict[str, Any]:
    """The WSGI environment gunicorn would hand over for the scenario's request."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/ai-service/{tenant}/jobs",
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "CONTENT_LENGTH": "0",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    if scenario == "get":
        env["PATH_INFO"] += f"/{job_id}"
    elif scenario == "search":
        env.update(REQUEST_METHOD="POST", CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(SEARCH_BODY)))
        env["PATH_INFO"] += "/search"
        env["wsgi.input"] = io.BytesIO(SEARCH_BODY)
    return env


def call(app: App, env: dict[str, Any]) -> None:
    statuses: list[str] = []
    body = b"".join(app(env, lambda status, headers, *rest: statuses.append(status)))
    if not statuses[0].startswith("200"):
        sys.exit(f"{env['PATH_INFO']} answered {statuses[0]}: {body[:300]!r}")


def measure(app: App, scenario: str, tenant: str, token: str, ids: list[str], requests: int) -> tuple[float, float]:
    """(median wall time, mean CPU time) per request in milliseconds, after a warm-up."""
    for n in range(50):
        call(app, environ(scenario, tenant, token, ids[n % len(ids)]))
    times = []
    cpu = time.process_time()
    for n in range(requests):
        env = environ(scenario, tenant, token, ids[n % len(ids)])
        started = time.perf_counter()
        call(app, env)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, (time.process_time() - cpu) / requests * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--tenant", default="big001")
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    import floor

    from config.wsgi import application  # sets Django up, before anything reads a model

    token = caller_token(args.tenant)
    ids = job_ids(args.tenant)
    print(f"{'scenario':8} {'ours ms':>8} {'cpu':>6} {'floor ms':>9} {'cpu':>6} {'ratio':>6}")
    for scenario in args.scenarios or SCENARIOS:
        ours = measure(application, scenario, args.tenant, token, ids, args.requests)
        bare = measure(floor.app, scenario, args.tenant, token, ids, args.requests)
        print(f"{scenario:8} {ours[0]:8.3f} {ours[1]:6.3f} {bare[0]:9.3f} {bare[1]:6.3f} {bare[0] / ours[0]:6.2f}")


if __name__ == "__main__":
    main()

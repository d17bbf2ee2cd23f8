"""One tenant flooding export/import must not hold up another: through a real web server (gunicorn, 4 threads) and
a real Celery worker, one tenant queues hundreds of exports and holds many synchronous ones while another tenant
exports and lists its jobs."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from apps.agents.seeding import seed_catalogue
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.conftest import MANAGE, READ
from tests.server import Answer, ServerProcess
from tests.worker import thread_worker

pytestmark = pytest.mark.django_db(transaction=True)

QUEUED, SYNCHRONOUS = 300, 16


@pytest.fixture
def server(transactional_db: Any) -> Iterator[ServerProcess]:
    # A wait long enough that, without the caps, every thread of the server would be held by the flood.
    server = ServerProcess(
        threads=4,
        JOB_WAIT_SECONDS="15",
        JOB_MAX_IN_PROGRESS_PER_TENANT="10",
        JOB_WAITS_PER_TENANT="2",
        JOB_WAITS_TOTAL="3",
    )
    yield server
    server.stop()


@pytest.fixture
def worker(transactional_db: Any) -> Iterator[None]:
    with thread_worker():
        yield


def test_a_tenant_flooding_exports_does_not_hold_up_another_tenants_export_or_job_list(
    server: ServerProcess, worker: None, tenant: Tenant, other_tenant: Tenant, make_token: Callable[..., str]
) -> None:
    flooder, other = make_token(tenant, READ, MANAGE), make_token(other_tenant, READ, MANAGE)
    # A chain of agents with their tools and servers: each export takes the worker a while.
    flooding_agent = seed_catalogue(tenant=tenant, agents=8, prefix="f").agents[0]
    other_agent = seed_catalogue(tenant=other_tenant, agents=2, prefix="o").agents[0]

    def flood_export(synchronous: bool) -> Answer:
        headers = {} if synchronous else {"Prefer": "respond-async"}
        body = {"agentIds": [flooding_agent]}
        return server.call("POST", "/ai-service/acme/agentic/agents/export", body, token=flooder, **headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        queued = list(pool.map(lambda _: flood_export(synchronous=False), range(QUEUED)))
    with ThreadPoolExecutor(max_workers=SYNCHRONOUS) as pool:
        waiting = [pool.submit(flood_export, True) for _ in range(SYNCHRONOUS)]
        time.sleep(1.0)  # the synchronous requests are waiting for their jobs, behind the queued ones

        exported = server.call(
            "POST", "/ai-service/globex/agentic/agents/export", {"agentIds": [other_agent]}, token=other
        )
        listed = server.call("GET", "/ai-service/globex/jobs", token=other)
        answers = queued + [future.result(timeout=120) for future in waiting]

    assert exported.status == 200, exported.body[:300]
    assert listed.status == 200, listed.body[:300]
    assert exported.seconds < 5.0, f"the other tenant's export took {exported.seconds:.2f} s"
    assert listed.seconds < 2.0, f"the other tenant's GET /jobs took {listed.seconds:.2f} s"
    statuses = Counter(answer.status for answer in answers)
    assert set(statuses) <= {200, 202, 429}, statuses
    assert statuses[429] > 0, statuses
    assert all(answer.headers["Retry-After"] == "5" for answer in answers if answer.status == 429)
    assert Job.objects.filter(tenant=tenant).count() < QUEUED + SYNCHRONOUS

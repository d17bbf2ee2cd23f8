"""Bounded memory: a list of jobs holding large export bundles is streamed, a chunk of one bundle at a time.

The end-to-end test measures the resident memory of a real gunicorn worker (VmRSS in /proc) around one GET /jobs
over 50 exports of 4 MB each, a 200 MB answer."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.jobs import selectors
from apps.jobs.models import ExportBundle, Job
from apps.jobs.services import job_finish
from apps.tenants.models import Tenant
from tests.conftest import MANAGE, READ
from tests.server import ServerProcess

LIST = "/ai-service/acme/jobs"


def finished_export(tenant: Tenant, data: str, job_id: str) -> Job:
    job = Job.objects.create(tenant=tenant, job_id=job_id, type=Job.Type.EXPORT, payload={"agentIds": ["a"]})
    job_finish(job_pk=job.pk, status=Job.Status.SUCCESS, export_result={"data": data, "checksum": "c" * 64})
    return job


def data_of(size: int, seed: str) -> str:
    """`size` characters of base64 that differ from one seed to another."""
    block = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 3).decode()  # 256 characters
    return (block * (size // len(block) + 1))[:size]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors, "BUNDLE_CHUNK", 1000)


def test_a_finished_export_stores_its_bundle_once_apart_from_the_job_row(tenant):
    job = finished_export(tenant, data_of(5000, "a"), "e1")

    job.refresh_from_db()
    assert job.export_result is None
    assert ExportBundle.objects.filter(job=job).values_list("data", "checksum", "size").get() == (
        data_of(5000, "a"),
        "c" * 64,
        5000,
    )


def test_a_list_of_exports_is_the_same_json_streamed_chunk_by_chunk(manager, tenant, make_job, small_chunks):
    finished_export(tenant, data_of(4321, "a"), "e1")
    finished_export(tenant, data_of(1000, "b"), "e2")
    make_job(job_id="chat", message='text with "quotes", a \\\\ and ünïcode')

    response = manager.get(LIST, {"sort": "id"})

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/json"
    assert [job["id"] for job in response.body] == ["chat", "e1", "e2"]
    assert response.body[0]["message"] == 'text with "quotes", a \\\\ and ünïcode'
    assert response.body[1]["exportResult"] == {"data": data_of(4321, "a"), "checksum": "c" * 64}
    assert response.body[2]["exportResult"] == {"data": data_of(1000, "b"), "checksum": "c" * 64}


def test_the_list_reads_a_bundle_only_in_chunks_never_whole(manager, tenant, small_chunks):
    finished_export(tenant, data_of(3500, "a"), "e1")

    with CaptureQueriesContext(connection) as queries:
        body = manager.get(LIST).body

    assert body[0]["exportResult"]["data"] == data_of(3500, "a")
    reads = [q["sql"] for q in queries.captured_queries if "jobs_exportbundle" in q["sql"]]
    chunk = re.compile(r'SUBSTR\w*\("jobs_exportbundle"\."data"', re.IGNORECASE)
    assert all('"jobs_exportbundle"."data"' not in chunk.split(sql)[0] for sql in reads), reads
    assert sum(bool(chunk.search(sql)) for sql in reads) == 4  # 3500 characters in chunks of 1000


def test_fields_choose_parts_of_a_stored_export_result(manager, tenant):
    finished_export(tenant, data_of(100, "a"), "e1")

    checksum_only = manager.get(LIST, {"fields": "exportResult.checksum"})
    data_only = manager.get(LIST, {"fields": "exportResult.data"})
    without = manager.get(LIST, {"fields": "status"})

    assert checksum_only.body == [{"id": "e1", "exportResult": {"checksum": "c" * 64}}]
    assert not checksum_only.streaming
    assert data_only.body == [{"id": "e1", "exportResult": {"data": data_of(100, "a")}}]
    assert without.body == [{"id": "e1", "status": "success"}]


def test_a_job_with_a_stored_bundle_is_streamed_by_get_and_search_alike(manager, tenant, small_chunks):
    finished_export(tenant, data_of(2500, "a"), "e1")

    one = manager.get(f"{LIST}/e1")
    found = manager.post(f"{LIST}/search", {"q": "type:EXPORT"}, content_type="application/json")

    assert one.streaming and one.body["exportResult"]["data"] == data_of(2500, "a")
    assert found.body == [one.body]


def test_another_tenants_bundle_is_never_read_even_by_its_job_key(tenant, other_tenant):
    job = finished_export(other_tenant, data_of(100, "a"), "e1")

    assert list(selectors.export_bundle_chunks(tenant_id=tenant.pk, job_pk=job.pk, size=100)) == []
    assert list(selectors.export_bundle_chunks(tenant_id=other_tenant.pk, job_pk=job.pk, size=100)) == [
        data_of(100, "a")
    ]


# --- a real web worker's memory ---------------------------------------------------------------------------------------

EXPORTS, EXPORT_CHARS = 50, 4_000_000
GROWTH_LIMIT = 100 * 1024 * 1024


@pytest.fixture
def server(transactional_db: Any) -> Iterator[ServerProcess]:
    server = ServerProcess(threads=2)
    yield server
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_listing_50_large_exports_grows_a_web_worker_by_less_than_100_mb(
    server: ServerProcess, tenant: Tenant, make_token: Callable[..., str]
) -> None:
    token = make_token(tenant, READ, MANAGE)
    for n in range(EXPORTS):
        finished_export(tenant, data_of(EXPORT_CHARS, str(n)), f"export-{n:02d}")
    assert server.call("GET", f"{LIST}?pageSize=1", token=token).status == 200  # the worker has served once
    before = server.worker_rss()

    answer = server.call("GET", f"{LIST}?pageSize=60", token=token, timeout=300)

    grown = server.worker_rss() - before
    assert answer.status == 200
    assert len(answer.body) > EXPORTS * EXPORT_CHARS
    jobs = json.loads(answer.body)
    assert [len(job["exportResult"]["data"]) for job in jobs] == [EXPORT_CHARS] * EXPORTS
    assert grown < GROWTH_LIMIT, f"the web worker grew by {grown / 1024 / 1024:.0f} MB"

"""The console's job list: filters, keyset paging and the live status of running jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.console.jobs import selectors
from apps.core.timefmt import now_ms
from apps.jobs import services as job_services
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.console.jobs.helpers import (
    BASE,
    ids_on,
    link,
    make,
)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["chat-a1", "import-run", "export-bad", "chat-bad", "chat-ok"]),
        ("type=EXPORT", ["export-bad"]),
        ("status=failure", ["export-bad", "chat-bad"]),
        ("type=AGENT_CHAT&status=success", ["chat-a1", "chat-ok"]),
        ("agent_type=complaint", ["chat-bad"]),
        ("agent=a1", ["chat-a1", "chat-ok"]),
        ("created_from=2026-03-10", ["chat-a1", "import-run", "export-bad"]),
        ("created_to=2026-03-09", ["chat-bad", "chat-ok"]),
        ("created_from=2026-03-09&created_to=2026-03-10", ["export-bad", "chat-bad"]),
        ("q=order", ["export-bad", "chat-ok"]),  # case-insensitive, and never another tenant's
        ("q=100%25", ["chat-a1"]),
        ("q=r_1", []),  # % and _ are matched literally: as a wildcard, "_" would match "ORDER 17"
        ("status=failure&q=timeout", ["chat-bad"]),
        ("sort=oldest", ["chat-ok", "chat-bad", "export-bad", "import-run", "chat-a1"]),
        ("sort=oldest&agent=a1", ["chat-ok", "chat-a1"]),
    ],
)
def test_the_filters_filter(manager_client, catalogue, query, expected):
    response = manager_client.get(f"{BASE}/jobs/?{query}")

    assert response.status_code == 200
    assert ids_on(response) == expected


@pytest.mark.parametrize(
    "query", ["type=NOPE", "status=done", "created_from=yesterday", "created_from=2026-03-10&created_to=2026-03-01"]
)
def test_a_bad_filter_is_a_400_that_explains_it_and_lists_nothing(manager_client, catalogue, query):
    response = manager_client.get(f"{BASE}/jobs/?{query}")

    assert response.status_code == 400
    assert ids_on(response) == []
    assert 'class="msg-error"' in response.content.decode()


def test_the_list_shows_failure_messages_links_each_row_to_its_detail_and_has_no_count(manager_client, catalogue):
    page = manager_client.get(f"{BASE}/jobs/").content.decode()

    assert "Could not reach the commerce API: timeout" in page
    assert 'class="badge badge-failure"' in page
    for job_id in catalogue:
        assert f'href="{BASE}/jobs/{job_id}/"' in page
    assert "5 shown" in page and "more" not in page.split("5 shown")[1].split("</span>")[0]


def test_the_list_pages_by_keyset_without_offset(manager_client, catalogue):
    with CaptureQueriesContext(connection) as queries:
        manager_client.get(f"{BASE}/jobs/?status=failure")

    # Not the list's: the banner's count of jobs waiting for a worker (apps/ops/context.py), on every console page.
    banner = '"started_at" IS NULL'
    listing = [q["sql"] for q in queries.captured_queries if 'FROM "jobs_job"' in q["sql"] and banner not in q["sql"]]
    assert len(listing) == 1
    assert "OFFSET" not in listing[0] and "COUNT(" not in listing[0].upper()
    assert "LIMIT 51" in listing[0]


@pytest.fixture
def many(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """11 jobs, newest first, several created at the same instant (so job_id breaks the ties), 3 to a page."""
    monkeypatch.setattr(selectors, "PAGE_SIZE", 3)
    at = now_ms() - timedelta(days=1)
    instants = [at, at, at, at + timedelta(seconds=1), at + timedelta(seconds=2), at + timedelta(seconds=2)]
    instants += [at + timedelta(seconds=s) for s in range(3, 8)]
    jobs = [make(tenant, job_id=f"m{i:02d}", created_at=when) for i, when in enumerate(instants)]
    make(tenant, job_id="other-type", type=Job.Type.EXPORT, created_at=at + timedelta(seconds=1))
    return [job.job_id for job in sorted(jobs, key=lambda j: (j.created_at, j.job_id), reverse=True)]


def walk(client: Client, url: str, rel: str) -> tuple[list[list[str]], str | None]:
    """Follow `rel` links from `url`; the pages' ids, and the last page's URL."""
    seen: list[list[str]] = []
    last = None
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen.append(ids_on(response))
        last, url = url, link(response, rel)  # type: ignore[assignment]
    return seen, last


def test_older_links_walk_every_job_once_and_newer_links_walk_back(manager_client, many):
    forward, last = walk(manager_client, f"{BASE}/jobs/?type=AGENT_CHAT", "next")

    assert [len(page) for page in forward] == [3, 3, 3, 2]
    assert [
        job_id for page in forward for job_id in page
    ] == many  # in order, no overlap, nothing skipped, the filter kept
    assert last is not None
    backward, _ = walk(manager_client, last, "prev")
    assert backward == forward[::-1]
    first = manager_client.get(f"{BASE}/jobs/?type=AGENT_CHAT")
    assert link(first, "prev") is None


def test_oldest_first_pages_the_other_way(manager_client, many):
    forward, last = walk(manager_client, f"{BASE}/jobs/?type=AGENT_CHAT&sort=oldest", "next")

    assert [job_id for page in forward for job_id in page] == many[::-1]
    backward, _ = walk(manager_client, last or "", "prev")
    assert backward == forward[::-1]


def test_paging_keeps_jobs_apart_that_were_created_within_the_same_millisecond(manager_client, tenant, monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    at = now_ms() - timedelta(days=1)
    for micro, job_id in ((900, "x1"), (500, "x2"), (100, "x3"), (50, "x4")):  # seeded jobs have microseconds
        make(tenant, job_id=job_id, created_at=at + timedelta(microseconds=micro))

    forward, _ = walk(manager_client, f"{BASE}/jobs/", "next")

    assert forward == [["x1", "x2"], ["x3", "x4"]]


def test_a_broken_cursor_shows_the_first_page(manager_client, many):
    response = manager_client.get(f"{BASE}/jobs/?type=AGENT_CHAT&after=not-a-cursor")

    assert ids_on(response) == many[:3]


def test_rows_in_progress_are_marked_for_the_live_update(manager_client, catalogue):
    page = manager_client.get(f"{BASE}/jobs/").content.decode()

    assert '<tr data-job-id="import-run" data-status="in_progress">' in page
    assert f'data-url="{BASE}/jobs/status.json"' in page


def test_the_status_endpoint_answers_for_the_tenants_jobs_it_is_asked_about(manager_client, catalogue):
    running = catalogue["import-run"]
    url = f"{BASE}/jobs/status.json?id=import-run&id=chat-bad&id=globex-chat&id=gone"

    before = manager_client.get(url).json()["jobs"]
    job_services.job_finish(job_pk=running.pk, status=Job.Status.FAILURE, message="The import could not be read")
    after = manager_client.get(url).json()["jobs"]

    assert set(before) == set(after) == {"import-run", "chat-bad"}
    assert before["import-run"]["status"] == "in_progress" and before["import-run"]["finishedAt"] is None
    assert after["import-run"]["status"] == "failure"
    assert after["import-run"]["message"] == "The import could not be read"
    assert after["chat-bad"]["message"] == "Could not reach the commerce API: timeout"

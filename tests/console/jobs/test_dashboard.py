"""The console's job dashboard: counts per type and status, recent failures, recent jobs."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.jobs.models import Job
from tests.conftest import empty_cache
from tests.console.jobs.helpers import (
    BASE,
    ids_on,
)


def test_the_counts_are_per_type_and_status_of_the_tenant_only(manager_client, mix, make_job):
    make_job(type=Job.Type.AGENT_CHAT, status=Job.Status.SKIPPED)
    body = manager_client.get(f"{BASE}/counts.json").json()

    assert body["counts"] == {
        "AGENT_CHAT": {"in_progress": 0, "success": 2, "failure": 1, "skipped": 1},
        "EXPORT": {"in_progress": 1, "success": 0, "failure": 0, "skipped": 0},
        "IMPORT": {"in_progress": 0, "success": 0, "failure": 1, "skipped": 0},
    }
    assert body["byStatus"] == {"in_progress": 1, "success": 2, "failure": 2, "skipped": 1}
    assert body["byType"] == {"AGENT_CHAT": 4, "EXPORT": 1, "IMPORT": 1}
    assert body["total"] == 6


def test_the_counts_come_from_the_kept_counts_not_from_counting_jobs(manager_client, mix):
    with CaptureQueriesContext(connection) as queries:
        manager_client.get(f"{BASE}/counts.json")

    grouped = [q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1
    assert grouped[0].startswith('SELECT "jobs_jobcount"."type" AS "type", "jobs_jobcount"."status" AS "status"')
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]


def test_dashboards_polling_the_same_tenant_share_one_count_for_a_few_seconds(manager_client, viewer_client, mix):
    assert manager_client.get(f"{BASE}/counts.json").json()["total"] == 5
    Job.objects.filter(job_id="j0").delete()

    with CaptureQueriesContext(connection) as queries:
        shared = viewer_client.get(f"{BASE}/counts.json").json()

    assert shared["total"] == 5
    assert not [q for q in queries.captured_queries if "GROUP BY" in q["sql"]]
    empty_cache()  # as when the few seconds have passed
    assert viewer_client.get(f"{BASE}/counts.json").json()["total"] == 4


def test_the_dashboard_shows_counts_then_recent_failures_with_their_messages_then_recent_jobs(manager_client, mix):
    response = manager_client.get(f"{BASE}/")
    page = response.content.decode()

    assert re.search(r'data-count="AGENT_CHAT:success">2<', page)
    assert re.search(r'data-count="total">5<', page)
    failures, recent = page.split("Recent failures")[1].split("Recent jobs")
    assert ids_on(response)[:2] == ["j4", "j2"]  # newest failure first
    assert "IMPORT number 4 broke" in failures and "AGENT_CHAT number 2 broke" in failures
    assert "globex" not in page
    assert [i for i in re.findall(r'<tr data-job-id="([^"]*)"', recent)] == ["j4", "j3", "j2", "j1", "j0"]
    assert f'data-url="{BASE}/counts.json"' in page  # the counts refresh in place

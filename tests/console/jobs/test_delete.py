"""The console's job deletes: one job, a selection, or every job a filter finds, in batches."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.console.jobs import selectors, services
from apps.core.timefmt import format_instant, now_ms
from apps.jobs.models import Job
from tests.console.jobs.helpers import (
    BASE,
    linked,
    make,
)


def test_deleting_a_job_asks_first_then_deletes_it_and_records_who_did_it(manager_client, manager_user, failed_export):
    confirm = manager_client.get(f"{BASE}/jobs/{failed_export.job_id}/delete")
    assert confirm.status_code == 200
    assert f'action="{BASE}/jobs/{linked(failed_export.job_id)}/delete"' in confirm.content.decode()
    assert Job.objects.filter(pk=failed_export.pk).exists()

    response = manager_client.post(f"{BASE}/jobs/{failed_export.job_id}/delete")

    assert response.status_code == 302 and response["Location"] == f"{BASE}/jobs/"
    assert not Job.objects.filter(pk=failed_export.pk).exists()
    event = AuditEvent.objects.get()
    assert (event.user, event.username, event.tenant.name) == (manager_user, "mia-manager", "acme")
    assert (event.action, event.object_id) == (AuditEvent.Action.JOB_DELETE, "exp/ort-1")
    assert event.detail == {"type": "EXPORT", "status": "failure"}


def test_bulk_delete_by_selection_counts_first_then_deletes_only_the_tenants_selected_jobs(
    manager_client, catalogue, foreign_job
):
    selection = {"mode": "selected", "id": ["chat-ok", "chat-bad", foreign_job.job_id]}

    confirm = manager_client.post(f"{BASE}/jobs/delete", selection)
    assert confirm.status_code == 200
    assert 'data-count="2"' in confirm.content.decode()
    assert Job.objects.count() == 7 and not AuditEvent.objects.exists()

    response = manager_client.post(f"{BASE}/jobs/delete", {**selection, "confirm": "yes", "until": _until(confirm)})

    assert response.status_code == 302
    assert set(Job.objects.values_list("job_id", flat=True)) == {
        "export-bad",
        "import-run",
        "chat-a1",
        "globex-chat",
        foreign_job.job_id,
    }
    event = AuditEvent.objects.get()
    assert (event.action, event.detail["count"], event.detail["mode"]) == ("jobs.bulk_delete", 2, "selected")


def _until(confirm: Any) -> str:
    found = re.search(r'name="until" value="([^"]+)"', confirm.content.decode())
    assert found
    return found.group(1)


def test_bulk_delete_by_filter_deletes_exactly_the_filtered_jobs_of_the_tenant(manager_client, catalogue, mix):
    criteria = {"status": "failure", "q": "ORDER"}
    confirm = manager_client.post(f"{BASE}/jobs/delete", {"mode": "filter", **criteria})
    assert 'data-count="1"' in confirm.content.decode()
    assert re.search(r"<strong>1 job</strong> will be deleted", confirm.content.decode())

    response = manager_client.post(
        f"{BASE}/jobs/delete", {"mode": "filter", **criteria, "confirm": "yes", "until": _until(confirm)}
    )

    assert response["Location"] == f"{BASE}/jobs/?status=failure&q=ORDER"
    remaining = set(Job.objects.values_list("job_id", flat=True))
    assert "export-bad" not in remaining
    assert {"chat-bad", "globex-chat", "g1", "j2", "j4"} <= remaining  # other failures; another tenant's "order"
    assert len(remaining) == 5 + 1 + 5 + 1 - 1
    event = AuditEvent.objects.get()
    assert event.detail == {"mode": "filter", "filter": {"status": "failure", "q": "ORDER"}, "count": 1}


def test_bulk_delete_by_filter_spares_jobs_created_after_the_count(manager_client, tenant, catalogue):
    confirm = manager_client.post(f"{BASE}/jobs/delete", {"mode": "filter", "type": "EXPORT"})
    assert 'data-count="1"' in confirm.content.decode()
    later = make(tenant, job_id="later", type=Job.Type.EXPORT, created_at=now_ms() + timedelta(seconds=5))

    manager_client.post(
        f"{BASE}/jobs/delete", {"mode": "filter", "type": "EXPORT", "confirm": "yes", "until": _until(confirm)}
    )

    assert list(Job.objects.filter(type=Job.Type.EXPORT).values_list("job_id", flat=True)) == [later.job_id]
    assert AuditEvent.objects.get().detail["count"] == 1


def test_a_delete_that_runs_out_of_time_shows_how_far_it_got_and_goes_on_where_it_stopped(
    manager_client, tenant, monkeypatch
):
    monkeypatch.setattr(services, "DELETE_BATCH", 2)
    monkeypatch.setattr(services, "DELETE_SECONDS", 0)  # one batch per request
    for i in range(5):
        make(tenant, job_id=f"t{i}", type=Job.Type.EXPORT)
    make(tenant, job_id="spared")
    data = {"mode": "filter", "type": "EXPORT", "confirm": "yes", "until": format_instant(now_ms())}

    rounds = []
    response = manager_client.post(f"{BASE}/jobs/delete", data)
    while response.status_code == 200:
        page = response.content.decode()
        rounds.append(int(re.search(r'data-deleted="(\d+)"', page).group(1)))
        assert 'name="confirm" value="yes"' in page and 'name="type" value="EXPORT"' in page
        response = manager_client.post(f"{BASE}/jobs/delete", {**data, "deleted": rounds[-1]})

    assert rounds == [2, 4]
    assert response.status_code == 302
    assert list(Job.objects.values_list("job_id", flat=True)) == ["spared"]
    events = AuditEvent.objects.order_by("pk")
    assert [e.detail["count"] for e in events] == [2, 2, 1]
    assert [e.detail.get("unfinished", False) for e in events] == [True, True, False]


def test_a_count_past_the_limit_says_more_than_and_the_delete_goes_in_batches(
    manager_client, tenant, other_tenant, monkeypatch
):
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 4)
    monkeypatch.setattr(services, "DELETE_BATCH", 2)
    at = now_ms() - timedelta(minutes=1)
    for i in range(7):
        make(tenant, job_id=f"b{i}", created_at=at)  # one instant: the batches part on the id
    make(other_tenant, job_id="b0")

    confirm = manager_client.post(f"{BASE}/jobs/delete", {"mode": "filter"})
    assert "More than 4 jobs" in confirm.content.decode()
    with CaptureQueriesContext(connection) as queries:
        manager_client.post(f"{BASE}/jobs/delete", {"mode": "filter", "confirm": "yes", "until": _until(confirm)})

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('DELETE FROM "jobs_job"')]
    assert len(deletes) == 4  # 2 + 2 + 2 + 1
    assert list(Job.objects.values_list("tenant__name", "job_id")) == [("globex", "b0")]
    assert AuditEvent.objects.get().detail["count"] == 7


@pytest.mark.parametrize(
    "data",
    [
        {"mode": "filter", "created_from": "not a date"},
        {"mode": "everything"},
        {"mode": "filter", "confirm": "yes", "until": "whenever"},
    ],
)
def test_a_bulk_delete_that_is_not_clear_deletes_nothing(manager_client, catalogue, data):
    response = manager_client.post(f"{BASE}/jobs/delete", data)

    assert response.status_code == 400
    assert Job.objects.count() == 6
    assert not AuditEvent.objects.exists()


def test_deleting_nothing_selected_goes_back_to_the_list(manager_client, catalogue):
    response = manager_client.post(f"{BASE}/jobs/delete", {"mode": "selected", "status": "failure"})

    assert response["Location"] == f"{BASE}/jobs/?status=failure"
    assert Job.objects.count() == 6

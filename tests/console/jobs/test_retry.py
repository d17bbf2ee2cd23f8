"""The console's retry of a failed job."""

from __future__ import annotations

from unittest import mock

import pytest

from apps.agents.bundle import bundle_encode
from apps.audit.models import AuditEvent
from apps.core.timefmt import format_instant, now_ms
from apps.jobs import services as job_services
from apps.jobs.models import Job
from tests.console.jobs.helpers import (
    BASE,
    EXPORT_DOC,
    linked,
    make,
)


def test_retrying_a_failed_export_starts_a_linked_job_with_the_same_payload_once_committed(
    manager_client, manager_user, failed_export, django_capture_on_commit_callbacks
):
    with (
        mock.patch("apps.jobs.tasks.job_run.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = manager_client.post(f"{BASE}/jobs/{failed_export.job_id}/retry")

    retry = Job.objects.get(retry_of=failed_export)
    assert (retry.type, retry.status, retry.payload) == ("EXPORT", "in_progress", {"agentIds": ["support"]})
    assert retry.job_id != failed_export.job_id
    assert len(callbacks) == 1
    send.assert_called_once_with(args=[retry.pk], queue="celery", countdown=None, retry=False)
    assert response["Location"] == f"{BASE}/jobs/{retry.job_id}/"
    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.object_id) == (manager_user, "job.retry", failed_export.job_id)
    assert event.detail == {"type": "EXPORT", "retryJobId": retry.job_id}
    # Each links to the other.
    assert f"{BASE}/jobs/{retry.job_id}/" in manager_client.get(f"{BASE}/jobs/{failed_export.job_id}/").content.decode()
    assert (
        f"{BASE}/jobs/{linked(failed_export.job_id)}/"
        in manager_client.get(f"{BASE}/jobs/{retry.job_id}/").content.decode()
    )


def test_a_failed_import_keeps_its_bundle_and_can_be_retried(
    manager_client, tenant, django_capture_on_commit_callbacks
):
    data, checksum = bundle_encode(EXPORT_DOC)
    job = make(tenant, job_id="imp-1", type=Job.Type.IMPORT, payload={"data": data, "checksum": checksum})
    job_services.job_finish(job_pk=job.pk, status=Job.Status.FAILURE, message="The import failed")

    with (
        mock.patch("apps.jobs.tasks.job_run.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        manager_client.post(f"{BASE}/jobs/imp-1/retry")

    retry = Job.objects.get(retry_of=job)
    assert retry.payload == {"data": data, "checksum": checksum}
    send.assert_called_once_with(args=[retry.pk], queue="celery", countdown=None, retry=False)


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"type": "EXPORT", "status": "success", "payload": {"agentIds": ["a"]}}, "Only a failed job"),
        ({"type": "EXPORT", "status": "in_progress", "payload": {"agentIds": ["a"]}}, "Only a failed job"),
        ({"type": "AGENT_CHAT", "status": "skipped", "payload": {"message": "hi"}}, "Only a failed job"),
        ({"type": "IMPORT", "status": "failure", "payload": None}, "no longer holds"),
    ],
)
def test_a_job_that_cannot_be_retried_is_refused_saying_why(
    manager_client, tenant, fields, reason, django_capture_on_commit_callbacks
):
    job = make(tenant, job_id="no-retry", **fields)

    with (
        mock.patch("apps.jobs.tasks.job_run.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = manager_client.post(f"{BASE}/jobs/no-retry/retry", follow=True)

    assert Job.objects.count() == 1
    send.assert_not_called()
    assert reason in response.content.decode()
    assert not AuditEvent.objects.exists()
    assert f"/jobs/{job.job_id}/retry" not in response.content.decode()  # no button where it cannot work


def test_a_second_retry_while_the_first_runs_is_refused(manager_client, failed_export):
    with mock.patch("apps.jobs.tasks.job_run.apply_async"):
        manager_client.post(f"{BASE}/jobs/{failed_export.job_id}/retry")
        response = manager_client.post(f"{BASE}/jobs/{failed_export.job_id}/retry", follow=True)

    assert Job.objects.filter(retry_of=failed_export).count() == 1
    assert "already in progress" in response.content.decode()


def test_a_retry_while_the_tenant_has_as_many_jobs_in_progress_as_it_may_is_refused_saying_so(
    manager_client, tenant, failed_export, settings
):
    settings.JOB_MAX_IN_PROGRESS_PER_TENANT = 1
    make(tenant, job_id="running", type=Job.Type.EXPORT, status="in_progress", payload={"agentIds": ["a"]})

    with mock.patch("apps.jobs.tasks.job_run.apply_async") as send:
        response = manager_client.post(f"{BASE}/jobs/{failed_export.job_id}/retry", follow=True)

    assert not Job.objects.filter(retry_of=failed_export).exists()
    send.assert_not_called()
    assert "JOB_MAX_IN_PROGRESS_PER_TENANT=1" in response.content.decode()


def test_deleting_a_retried_job_keeps_its_retry(manager_client, failed_export):
    with mock.patch("apps.jobs.tasks.job_run.apply_async"):
        manager_client.post(f"{BASE}/jobs/{failed_export.job_id}/retry")
    retry = Job.objects.get(retry_of=failed_export)

    manager_client.post(
        f"{BASE}/jobs/delete",
        {"mode": "selected", "id": [failed_export.job_id], "confirm": "yes", "until": format_instant(now_ms())},
    )

    retry.refresh_from_db()
    assert retry.retry_of is None

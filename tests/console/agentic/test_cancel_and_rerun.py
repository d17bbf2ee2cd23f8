"""Cancelling an agent run in progress, and rerunning one that failed, from its job page: managers only, each
leaving an audit event."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.jobs import services as job_services
from apps.jobs.models import Job
from tests.console.agentic.conftest import ASKED, SESSION
from tests.console.jobs.helpers import BASE, make


def test_the_page_of_a_run_in_progress_offers_managers_to_cancel_it(manager_client, running):
    body = manager_client.get(f"{BASE}/jobs/{running.job_id}/").content.decode()

    assert f'action="{BASE}/jobs/{running.job_id}/cancel"' in body
    assert "Cancel this run" in body


def test_a_manager_cancels_a_run_in_progress_and_the_audit_trail_says_who(manager_client, manager_user, running):
    response = manager_client.post(f"{BASE}/jobs/{running.job_id}/cancel")

    running.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == f"{BASE}/jobs/{running.job_id}/"
    assert (running.status, running.message) == ("failure", "Cancelled by mia-manager.")
    assert running.finished_at is not None
    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.object_id) == (manager_user, "job.cancel", running.job_id)
    assert event.detail == {"type": "AGENT_CHAT", "agentId": "helper"}
    page = manager_client.get(response["Location"]).content.decode()
    assert f"Cancelled job {running.job_id}." in page
    assert "Cancel this run" not in page


def test_a_viewer_cannot_cancel_a_run_nor_sees_the_button(viewer_client, running):
    page = viewer_client.get(f"{BASE}/jobs/{running.job_id}/").content.decode()
    response = viewer_client.post(f"{BASE}/jobs/{running.job_id}/cancel")

    assert "Cancel this run" not in page
    assert response.status_code == 403
    running.refresh_from_db()
    assert running.status == "in_progress"
    assert not AuditEvent.objects.exists()


def test_an_outsider_finds_no_run_to_cancel(outsider_client, running):
    assert outsider_client.post(f"{BASE}/jobs/{running.job_id}/cancel").status_code == 404
    running.refresh_from_db()
    assert running.status == "in_progress"


def test_cancelling_takes_a_post(manager_client, running):
    assert manager_client.get(f"{BASE}/jobs/{running.job_id}/cancel").status_code == 405


def test_a_finished_run_is_not_cancelled_and_nothing_is_audited(manager_client, answered):
    response = manager_client.post(f"{BASE}/jobs/{answered.job_id}/cancel", follow=True)

    answered.refresh_from_db()
    assert answered.status == "success"
    assert "This run has already finished; there is nothing to cancel." in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_an_export_in_progress_cannot_be_cancelled(manager_client, tenant):
    make(tenant, job_id="exp-1", type=Job.Type.EXPORT, status=Job.Status.IN_PROGRESS, payload={"agentIds": ["a"]})

    page = manager_client.get(f"{BASE}/jobs/exp-1/").content.decode()
    response = manager_client.post(f"{BASE}/jobs/exp-1/cancel", follow=True)

    assert "Cancel this run" not in page
    assert "Only agent runs can be cancelled, not EXPORT jobs." in response.content.decode()
    assert Job.objects.get(job_id="exp-1").status == "in_progress"


def test_job_cancel_finishes_a_job_once(running):
    assert job_services.job_cancel(job_pk=running.pk, by="the API client c-1") is True
    assert job_services.job_cancel(job_pk=running.pk, by="someone else") is False

    running.refresh_from_db()
    assert running.message == "Cancelled by the API client c-1."


# --- rerun ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def failed(running):
    job_services.job_fail(job_pk=running.pk, message="The model provider did not answer within 60 s")
    running.refresh_from_db()
    return running


def test_a_failed_run_offers_a_rerun_in_the_words_of_agent_runs(manager_client, failed):
    body = manager_client.get(f"{BASE}/jobs/{failed.job_id}/").content.decode()

    assert "Rerun this agent run" in body and "Retry this agent_chat" not in body
    assert f'action="{BASE}/jobs/{failed.job_id}/retry"' in body


def test_rerunning_a_failed_run_asks_the_same_agent_the_same_message_in_the_same_session_as_a_new_request(
    manager_client, manager_user, failed, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(f"{BASE}/jobs/{failed.job_id}/retry")

    rerun = Job.objects.get(retry_of=failed)
    assert response["Location"] == f"{BASE}/jobs/{rerun.job_id}/"
    assert (rerun.type, rerun.status) == ("AGENT_CHAT", "in_progress")
    assert (rerun.agent_id, rerun.agent_type) == ("helper", "support")
    assert rerun.session_id == SESSION and rerun.payload == {"message": ASKED}
    assert rerun.request_id and rerun.request_id != failed.request_id
    broker.assert_called_once_with(args=[rerun.pk], queue="agents", countdown=None, retry=False)
    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.object_id) == (manager_user, "job.retry", failed.job_id)
    page = manager_client.get(response["Location"]).content.decode()
    assert f"Started job {rerun.job_id} to rerun the agent run of job {failed.job_id}." in page
    assert "<dt>Rerun of</dt>" in page


def test_a_cancelled_run_can_be_rerun(manager_client, running, broker):
    manager_client.post(f"{BASE}/jobs/{running.job_id}/cancel")

    manager_client.post(f"{BASE}/jobs/{running.job_id}/retry")

    assert Job.objects.filter(retry_of=running, status="in_progress").count() == 1


def test_a_viewer_cannot_rerun_a_run(viewer_client, failed, broker):
    page = viewer_client.get(f"{BASE}/jobs/{failed.job_id}/").content.decode()

    assert "Rerun this agent run" not in page
    assert viewer_client.post(f"{BASE}/jobs/{failed.job_id}/retry").status_code == 403
    assert not Job.objects.filter(retry_of=failed).exists()
    broker.assert_not_called()

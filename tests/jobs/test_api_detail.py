"""GET and DELETE /ai-service/{tenant}/jobs/{jobId}, and how a job is represented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest

from apps.jobs.models import Job

CREATED = datetime(2025, 7, 25, 10, 30, 27, 167000, tzinfo=UTC)


def detail(job_id: str, tenant: str = "acme") -> str:
    return f"/ai-service/{tenant}/jobs/{quote(job_id)}"


def assert_not_found(response: Any, job_id: str) -> None:
    assert response.status_code == 404
    assert response.body["code"] == 404
    assert response.body["status"] == "Not Found"
    assert response.body["resourceId"] == job_id
    assert job_id in response.body["message"]


# GET by id


def test_it_returns_the_whole_job(manager, make_job):
    make_job(
        job_id="6881f0a3c0ffee0000000001",
        type="AGENT_CHAT",
        status="success",
        agent_type="complaint",
        agent_id="complaint-agent",
        session_id="session-9",
        message="The refund was issued.",
        commerce_event="order.created",
        created_at=CREATED,
        modified_at=CREATED + timedelta(seconds=2, microseconds=5000),
    )
    response = manager.get(detail("6881f0a3c0ffee0000000001"))
    assert response.status_code == 200
    assert response.body == {
        "id": "6881f0a3c0ffee0000000001",
        "agentType": "complaint",
        "status": "success",
        "type": "AGENT_CHAT",
        "sessionId": "session-9",
        "agentId": "complaint-agent",
        "message": "The refund was issued.",
        "commerceEvent": "order.created",
        "metadata": {"version": 1, "createdAt": "2025-07-25T10:30:27.167Z", "modifiedAt": "2025-07-25T10:30:29.172Z"},
    }


def test_it_renders_export_and_import_results(manager, make_job):
    export_result = {"data": "eyJhZ2VudHMiOiBbXX0=", "checksum": "5d41402abc4b2a76"}
    import_result = {
        "message": "Imported 1 agent.",
        "summary": {"agents": [{"id": "a1", "name": "Support", "state": "DISABLED"}], "tools": [], "mcpServers": []},
    }
    make_job(job_id="exp", type="EXPORT", status="success", export_result=export_result)
    make_job(job_id="imp", type="IMPORT", status="success", import_result=import_result)
    assert manager.get(detail("exp")).body["exportResult"] == export_result
    assert manager.get(detail("imp")).body["importResult"] == import_result


def test_absent_values_are_left_out_rather_than_null(manager, make_job):
    make_job(job_id="bare", type="EXPORT", created_at=CREATED, modified_at=CREATED)
    body = manager.get(detail("bare")).body
    assert body == {
        "id": "bare",
        "status": "in_progress",
        "type": "EXPORT",
        "metadata": {"version": 1, "createdAt": "2025-07-25T10:30:27.167Z", "modifiedAt": "2025-07-25T10:30:27.167Z"},
    }


@pytest.mark.parametrize(
    "stored, shown",
    [
        (datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), "2025-01-02T03:04:05.000Z"),
        (datetime(2025, 1, 2, 3, 4, 5, 7000, tzinfo=UTC), "2025-01-02T03:04:05.007Z"),
        (datetime(2025, 1, 2, 3, 4, 5, 999999, tzinfo=UTC), "2025-01-02T03:04:05.999Z"),
        (datetime(2025, 1, 2, 1, 0, 0, tzinfo=timezone(timedelta(hours=2))), "2025-01-01T23:00:00.000Z"),
    ],
)
def test_dates_are_utc_with_milliseconds_and_z(manager, make_job, stored, shown):
    make_job(job_id="dated", created_at=stored, modified_at=stored)
    metadata = manager.get(detail("dated")).body["metadata"]
    assert metadata["createdAt"] == shown
    assert metadata["modifiedAt"] == shown


def test_the_version_increments_each_time_the_job_is_saved_again(manager, make_job):
    job = make_job(job_id="changing", created_at=CREATED, modified_at=CREATED)
    assert manager.get(detail("changing")).body["metadata"]["version"] == 1

    job.status = Job.Status.SUCCESS
    job.save()
    job.message = "finished"
    job.save(update_fields=["message"])

    body = manager.get(detail("changing")).body
    assert body["status"] == "success"
    assert body["message"] == "finished"
    assert body["metadata"]["version"] == 3
    assert body["metadata"]["createdAt"] == "2025-07-25T10:30:27.167Z"
    assert body["metadata"]["modifiedAt"] > "2025-07-25T10:30:27.167Z"


@pytest.mark.parametrize(
    "job_id",
    [
        "legacy-42",
        "v1.2.3",
        "job.with.dots.",
        "507f1f77bcf86cd799439011",
        "UPPER_and_lower",
        "with space",
        "café-ümlaut",
        "a:b@c~d",
        "search",
    ],
)
def test_ids_of_any_shape_can_be_read_and_deleted(manager, make_job, job_id):
    make_job(job_id=job_id, message="found")
    response = manager.get(detail(job_id))
    assert response.status_code == 200, response.body
    assert response.body["id"] == job_id
    assert response.body["message"] == "found"
    assert manager.delete(detail(job_id)).status_code == 204
    assert not Job.objects.filter(job_id=job_id).exists()


def test_an_id_with_a_slash_can_be_read_and_deleted_when_percent_encoded(manager, make_job):
    # Loaded histories keep ids of any shape (apps/jobs/history.py refuses only empty or over-long ones).
    make_job(job_id="orders/42", message="found")
    path = f"/ai-service/acme/jobs/{quote('orders/42', safe='')}"
    response = manager.get(path)
    assert response.status_code == 200, response.body
    assert response.body["id"] == "orders/42"
    assert manager.delete(path).status_code == 204
    assert not Job.objects.filter(job_id="orders/42").exists()


def test_it_returns_404_with_the_resource_id_for_an_unknown_job(manager, make_job):
    make_job(job_id="known")
    assert_not_found(manager.get(detail("unknown")), "unknown")


def test_ids_are_matched_exactly(manager, make_job):
    make_job(job_id="Legacy-42")
    assert_not_found(manager.get(detail("legacy-42")), "legacy-42")
    assert_not_found(manager.get(detail("Legacy-4")), "Legacy-4")


def test_fields_choose_what_the_job_shows(manager, make_job):
    make_job(job_id="j1", status="failure", message="boom", created_at=CREATED, modified_at=CREATED)
    assert manager.get(detail("j1"), {"fields": "status"}).body == {"id": "j1", "status": "failure"}
    assert manager.get(detail("j1"), {"fields": "metadata.createdAt"}).body == {
        "id": "j1",
        "metadata": {"version": 1, "createdAt": "2025-07-25T10:30:27.167Z", "modifiedAt": "2025-07-25T10:30:27.167Z"},
    }


def test_an_unknown_field_on_a_job_is_a_400(manager, make_job):
    make_job(job_id="j1")
    response = manager.get(detail("j1"), {"fields": "status,nope"})
    assert response.status_code == 400
    assert response.body["details"][0]["field"] == "fields"
    assert "nope" in response.body["message"]


@pytest.mark.parametrize("method", ["get", "delete"])
def test_a_trailing_slash_on_a_job_is_a_json_404_not_a_redirect(manager, make_job, method):
    make_job(job_id="j1")
    response = getattr(manager, method)("/ai-service/acme/jobs/j1/")
    assert response.status_code == 404
    assert "Location" not in response
    assert response["Content-Type"].startswith("application/json")
    assert response.body["code"] == 404
    assert Job.objects.filter(job_id="j1").exists()


# DELETE


def test_delete_answers_204_without_a_body_and_the_job_is_gone(manager, make_job):
    make_job(job_id="doomed")
    make_job(job_id="kept")
    response = manager.delete(detail("doomed"))
    assert response.status_code == 204
    assert response.content == b""
    assert list(Job.objects.values_list("job_id", flat=True)) == ["kept"]
    assert_not_found(manager.get(detail("doomed")), "doomed")
    assert [job["id"] for job in manager.get("/ai-service/acme/jobs").body] == ["kept"]


def test_deleting_a_job_twice_answers_404_the_second_time(manager, make_job):
    make_job(job_id="once")
    assert manager.delete(detail("once")).status_code == 204
    assert_not_found(manager.delete(detail("once")), "once")


def test_deleting_an_unknown_job_answers_404_and_deletes_nothing(manager, make_job):
    make_job(job_id="kept")
    assert_not_found(manager.delete(detail("unknown")), "unknown")
    assert Job.objects.filter(job_id="kept").exists()

"""Agent runs the job machinery ends, not their runner: the time limits, the cap on attempts, the scheduler's sweep,
a cancel or a delete before a worker started the run. Each is worded for an agent run (its tools may have acted)
and closes the run's request log with the transcript's failure line, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.conf import settings

from apps.agentic import services
from apps.agentic.models import AgentRequest, AgentSession, LogMessage, Severity
from apps.core.timefmt import now_ms
from apps.jobs import runners, tasks
from apps.jobs.models import Job
from apps.jobs.services import job_cancel, job_claim, job_delete, job_retry, jobs_delete, jobs_sweep
from apps.tenants.models import Tenant
from tests.agentic.runtime.conftest import agent

pytestmark = pytest.mark.django_db

REQUESTS = "/ai-service/acme/agentic/logs/requests"
EXPORT_WORDING = ("nothing was changed", "fewer agents", "export")


def _job(tenant: Tenant) -> Job:
    created = agent(tenant, "writer", "http://127.0.0.1:9/v1")
    return services.run_create(tenant=tenant, agent=created, message="Hello", session_id=services.new_session_id())


def _transcript(job: Job) -> list[tuple[str, str]]:
    rows = LogMessage.objects.filter(request_id=job.request_id).order_by("timestamp", "id")
    return list(rows.values_list("severity", "message"))


def _failed(job: Job) -> Job:
    job.refresh_from_db()
    assert job.status == Job.Status.FAILURE
    message = str(job.message)
    assert message.startswith("The agent run ")
    assert not any(words in message for words in EXPORT_WORDING), message
    return job


def _closed_with_its_failure(job: Job, severity: str = "ERROR") -> None:
    request = AgentRequest.objects.get(request_id=job.request_id)
    assert (request.severity, request.finished_at is not None) == (severity, True)
    assert _transcript(job) == [
        ("INFO", "Agent receive request: Hello"),
        (severity, f"Agent run failed: {job.message}"),
    ]
    assert AgentSession.objects.get(session_id=job.session_id).severity == severity


def test_a_run_killed_at_its_hard_time_limit_says_so_and_closes_its_request_log(tenant, reader):
    job = _job(tenant)

    tasks.job_run.on_failure(TimeLimitExceeded(360), "task-id", (job.pk,), {}, None)

    job = _failed(job)
    assert job.message == (
        f"The agent run was stopped after {settings.CELERY_TASK_TIME_LIMIT} s, its hard time limit "
        "(JOB_TIME_LIMIT_SECONDS); it had called no tool yet."
    )
    _closed_with_its_failure(job)
    body = reader.get(f"{REQUESTS}/{job.request_id}").body
    assert body["severity"] == "ERROR" and isinstance(body["duration"], int)
    assert body["messages"][-1]["message"] == f"Agent run failed: {job.message}"
    assert body["messages"][-1]["severity"] == "ERROR"


def test_a_run_that_had_called_a_tool_says_that_the_tool_may_have_acted(tenant):
    job = _job(tenant)
    Job.objects.filter(pk=job.pk).update(tool_called_at=now_ms())

    tasks.job_run.on_failure(TimeLimitExceeded(360), "task-id", (job.pk,), {}, None)

    assert _failed(job).message.endswith("(JOB_TIME_LIMIT_SECONDS); a tool it called before may already have acted.")
    _closed_with_its_failure(job)


def test_a_run_stopped_by_its_soft_time_limit_says_so_and_closes_its_request_log(tenant):
    job = _job(tenant)

    tasks.job_run.on_failure(SoftTimeLimitExceeded(), "task-id", (job.pk,), {}, None)

    job = _failed(job)
    assert job.message.startswith(
        f"The agent run was stopped after {settings.CELERY_TASK_SOFT_TIME_LIMIT} s, its soft time limit "
        "(JOB_SOFT_TIME_LIMIT_SECONDS);"
    )
    _closed_with_its_failure(job)


def test_a_run_out_of_attempts_says_so_and_closes_its_request_log(tenant, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    job = _job(tenant)
    Job.objects.filter(pk=job.pk).update(attempts=2)

    assert job_claim(job_pk=job.pk) is None

    job = _failed(job)
    assert job.message.startswith("The agent run was given up after 2 attempts, the most a job gets (JOB_MAX_ATTEMPTS)")
    _closed_with_its_failure(job)


def test_a_stuck_run_swept_by_the_scheduler_says_so_and_closes_its_request_log(tenant):
    job = _job(tenant)
    long_ago = now_ms() - timedelta(seconds=settings.JOB_STUCK_AFTER_SECONDS + 60)
    Job.objects.filter(pk=job.pk).update(dispatched_at=long_ago, started_at=long_ago, attempts=1)

    assert jobs_sweep()["reaped"] == 1

    job = _failed(job)
    assert "(JOB_STUCK_AFTER_SECONDS)" in str(job.message)
    _closed_with_its_failure(job)


def test_a_run_no_worker_could_be_handed_says_so_and_closes_its_request_log(tenant):
    job = _job(tenant)
    long_ago = now_ms() - timedelta(seconds=settings.JOB_DISPATCH_DEADLINE_SECONDS + 60)
    Job.objects.filter(pk=job.pk).update(created_at=long_ago, dispatched_at=None)

    assert jobs_sweep()["failed_undeliverable"] == 1

    job = _failed(job)
    assert job.message.startswith("The agent run was never started: no worker could be reached within")
    _closed_with_its_failure(job)


def test_a_run_cancelled_before_a_worker_started_it_closes_its_request_log_as_a_warning(tenant):
    job = _job(tenant)

    assert job_cancel(job_pk=job.pk, by="ada@example.com")

    job.refresh_from_db()
    assert (job.status, job.message) == (Job.Status.FAILURE, "Cancelled by ada@example.com.")
    _closed_with_its_failure(job, "WARNING")


def test_a_run_cancelled_mid_way_is_closed_as_a_warning_with_no_further_line(tenant):
    job = _job(tenant)
    Job.objects.filter(pk=job.pk).update(started_at=now_ms(), attempts=1)  # as job_claim leaves it
    before = _transcript(job)

    assert job_cancel(job_pk=job.pk, by="ada@example.com")

    request = AgentRequest.objects.get(request_id=job.request_id)
    assert (request.severity, request.finished_at is not None) == ("WARNING", True)
    assert _transcript(job) == before


def test_a_run_deleted_before_a_worker_started_it_closes_its_request_log_as_a_warning(tenant):
    job = _job(tenant)
    before = _transcript(job)

    job_delete(job=job)

    request = AgentRequest.objects.get(request_id=job.request_id)
    assert (request.severity, request.finished_at is not None) == ("WARNING", True)
    assert _transcript(job) == before


def test_runs_deleted_in_bulk_close_their_open_request_logs_and_leave_closed_ones_as_they_are(tenant):
    running, failed = _job(tenant), _job(tenant)
    assert services.run_fail(job=failed, reason="The model refused.")
    closed = AgentRequest.objects.get(request_id=failed.request_id)

    assert jobs_delete(tenant=tenant, jobs=Job.objects.all(), batch=10, seconds=60).count == 2

    assert AgentRequest.objects.get(request_id=running.request_id).severity == "WARNING"
    assert AgentRequest.objects.get(request_id=running.request_id).finished_at is not None
    again = AgentRequest.objects.get(request_id=failed.request_id)
    assert (again.severity, again.finished_at, again.version) == ("ERROR", closed.finished_at, closed.version)


def test_a_run_its_runner_already_failed_gets_no_second_failure_line(tenant):
    job = _job(tenant)
    assert services.run_fail(job=job, reason="The model refused.")
    closed = AgentRequest.objects.get(request_id=job.request_id)

    tasks.job_run.on_failure(TimeLimitExceeded(360), "task-id", (job.pk,), {}, None)
    tasks.job_run.on_failure(SoftTimeLimitExceeded(), "task-id", (job.pk,), {}, None)
    assert job_cancel(job_pk=job.pk, by="ada@example.com") is False
    job_delete(job=job)

    assert _transcript(job) == [
        ("INFO", "Agent receive request: Hello"),
        ("ERROR", "Agent run failed: The model refused."),
    ]
    again = AgentRequest.objects.get(request_id=job.request_id)
    assert (again.severity, again.finished_at, again.version) == ("ERROR", closed.finished_at, closed.version)


def test_a_runner_that_notices_the_end_later_leaves_the_request_log_as_the_sweep_closed_it(tenant):
    job = _job(tenant)
    long_ago = now_ms() - timedelta(seconds=settings.JOB_STUCK_AFTER_SECONDS + 60)
    Job.objects.filter(pk=job.pk).update(dispatched_at=long_ago, started_at=long_ago, attempts=1)
    jobs_sweep()
    closed = AgentRequest.objects.get(request_id=job.request_id)

    # What the runner does when its next step finds the job ended (apps.agentic.runner).
    assert services.run_succeed(job=job, output="late", usage={}, agents=["writer"], history=None) is False
    services.request_close(job=job, severity=Severity.WARNING, only_open=True)

    again = AgentRequest.objects.get(request_id=job.request_id)
    assert (again.severity, again.finished_at, again.version) == ("ERROR", closed.finished_at, closed.version)


def test_a_soft_time_limit_that_strikes_inside_a_run_fails_it_as_the_limit_not_as_an_internal_error(
    tenant, monkeypatch
):
    job = _job(tenant)
    Job.objects.filter(pk=job.pk).update(dispatched_at=now_ms())

    def struck(*args: object, **kwargs: object) -> None:
        raise SoftTimeLimitExceeded()  # what Celery raises in the pool process, wherever the run is

    monkeypatch.setattr("apps.agentic.loop.run", struck)
    runners.job_execute(job_pk=job.pk)

    job = _failed(job)
    assert job.message == (
        f"The agent run was stopped after {settings.CELERY_TASK_SOFT_TIME_LIMIT} s, its soft time limit "
        "(JOB_SOFT_TIME_LIMIT_SECONDS); it had called no tool yet."
    )
    _closed_with_its_failure(job)


def test_a_fault_before_the_run_began_is_an_internal_error_of_the_agent_run_and_closes_its_request_log(
    tenant, monkeypatch
):
    job = _job(tenant)

    def broken(**kwargs: object) -> bool:
        raise RuntimeError("a fault of ours")

    monkeypatch.setattr("apps.agentic.services.run_turn_take", broken)
    runners.job_execute(job_pk=job.pk)

    job = _failed(job)
    assert job.message == (
        "The agent run failed because of an internal error (the worker log has the details under job "
        f"{job.job_id}); it had called no tool yet."
    )
    _closed_with_its_failure(job)


def test_runs_deleted_in_the_admin_close_their_request_logs(tenant, admin_client):
    one, two, three = _job(tenant), _job(tenant), _job(tenant)

    page = admin_client.post(f"/admin/jobs/job/{one.pk}/delete/", {"post": "yes"})
    picked = {"action": "delete_selected", "_selected_action": [two.pk, three.pk], "post": "yes"}
    listing = admin_client.post("/admin/jobs/job/", picked)

    assert (page.status_code, listing.status_code) == (302, 302)
    assert not Job.objects.exists()
    for job in (one, two, three):
        request = AgentRequest.objects.get(request_id=job.request_id)
        assert (request.severity, request.finished_at is not None) == ("WARNING", True)


def test_a_rerun_cancelled_before_a_worker_started_it_gets_a_transcript_of_its_own(tenant):
    first = _job(tenant)
    assert services.run_fail(job=first, reason="The model refused.")
    rerun = job_retry(job=first)
    assert not AgentRequest.objects.filter(request_id=rerun.request_id).exists()  # opened by the worker, normally

    assert job_cancel(job_pk=rerun.pk, by="ada@example.com")

    request = AgentRequest.objects.get(request_id=rerun.request_id)
    assert (request.severity, request.finished_at is not None) == ("WARNING", True)
    assert _transcript(rerun) == [
        ("INFO", "Agent receive request: Hello"),
        ("WARNING", "Agent run failed: Cancelled by ada@example.com."),
    ]
    # The session keeps the worst of its requests: the first run's failure.
    assert AgentSession.objects.get(session_id=rerun.session_id).severity == "ERROR"

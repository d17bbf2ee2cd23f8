"""The job rules in their one home: the model's retry rule, the services' domain errors and bulk delete, the
export file, and how the API answers the domain errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.agents.bundle import bundle_encode
from apps.agents.seeding import seed_catalogue
from apps.core.errors import ApiError
from apps.core.timefmt import format_instant, now_ms
from apps.jobs import runners, services
from apps.jobs.api.errors import api_error
from apps.jobs.errors import InvalidBundle, JobError, JobNotRetryable, TooManyJobsInProgress, UnknownAgents
from apps.jobs.models import Job
from apps.jobs.representation import export_file
from apps.jobs.streaming import BundleData
from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db


def failed(tenant: Tenant, **fields: object) -> Job:
    fields = {"type": Job.Type.EXPORT, "status": Job.Status.FAILURE, "payload": {"agentIds": ["a"]}, **fields}
    return Job.objects.create(tenant=tenant, **fields)


# --- the retry rule ----------------------------------------------------------------------------------------------


def test_a_failed_export_or_import_that_keeps_its_payload_is_retryable(tenant):
    assert failed(tenant).retryable
    assert failed(tenant, type=Job.Type.IMPORT, payload={"data": "x", "checksum": "y"}).retryable


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (
            {"type": Job.Type.AGENT_CHAT, "status": Job.Status.SKIPPED},
            "Only a failed job can be retried; this one is skipped.",
        ),
        ({"status": Job.Status.SUCCESS}, "Only a failed job can be retried; this one is success."),
        ({"status": Job.Status.IN_PROGRESS}, "Only a failed job can be retried; this one is in_progress."),
        ({"payload": None}, "This job no longer holds what it was asked to do, so it cannot be run again."),
    ],
)
def test_the_model_says_why_a_job_cannot_be_retried_and_the_service_refuses_it_with_those_words(
    tenant, fields, problem
):
    job = failed(tenant, **fields)

    assert not job.retryable
    assert job.retry_problem() == problem
    with pytest.raises(JobNotRetryable) as refused:
        services.job_retry(job=job)
    assert refused.value.message == problem
    assert Job.objects.count() == 1


def test_a_retry_over_the_tenants_cap_is_refused_as_not_retryable_with_the_caps_words(tenant, settings):
    settings.JOB_MAX_IN_PROGRESS_PER_TENANT = 1
    Job.objects.create(tenant=tenant, type=Job.Type.IMPORT, payload={"data": "", "checksum": ""})  # a real one

    with pytest.raises(JobNotRetryable) as refused:
        services.job_retry(job=failed(tenant))

    assert "JOB_MAX_IN_PROGRESS_PER_TENANT=1" in refused.value.message


# --- services raise domain errors, never the API's --------------------------------------------------------------


def test_an_export_of_unknown_agents_is_refused_with_a_domain_error_naming_the_field(tenant):
    with pytest.raises(UnknownAgents) as refused:
        services.export_start(tenant=tenant, agent_ids=["nope"])

    assert not isinstance(refused.value, ApiError)
    assert refused.value.field == "agentIds" and "nope" in refused.value.message
    assert not Job.objects.exists()


def test_an_import_of_a_bundle_that_does_not_check_out_is_refused_with_a_domain_error_naming_the_field(tenant):
    with pytest.raises(InvalidBundle) as refused:
        services.import_start(tenant=tenant, data="not base64!", checksum="0" * 64)

    assert not isinstance(refused.value, ApiError)
    assert refused.value.field == "data"
    assert not Job.objects.exists()


def test_exports_loaded_from_a_saved_history_as_in_progress_take_no_place_under_the_cap(tenant, settings):
    # load_jobs keeps a saved job's status; one never handed to a worker here would otherwise block the tenant.
    settings.JOB_MAX_IN_PROGRESS_PER_TENANT = 1
    Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, status=Job.Status.IN_PROGRESS, payload=None)
    agent = seed_catalogue(tenant=tenant, agents=1).agents[0]

    job = services.export_start(tenant=tenant, agent_ids=[agent])

    assert job.status == Job.Status.IN_PROGRESS


def test_a_job_over_the_tenants_cap_is_refused_with_a_domain_error_that_says_when_to_try_again(tenant, settings):
    settings.JOB_MAX_IN_PROGRESS_PER_TENANT = 1
    agent = seed_catalogue(tenant=tenant, agents=1).agents[0]
    services.export_start(tenant=tenant, agent_ids=[agent])

    with pytest.raises(TooManyJobsInProgress) as refused:
        services.export_start(tenant=tenant, agent_ids=[agent])

    assert not isinstance(refused.value, ApiError)
    assert refused.value.retry_after == 5
    assert Job.objects.count() == 1


def test_the_api_answers_too_many_jobs_with_429_and_a_retry_after_and_other_refusals_with_400_and_the_field():
    busy = api_error(TooManyJobsInProgress("Busy."))
    assert (busy.status_code, str(busy.detail), busy.field, getattr(busy, "wait", None)) == (429, "Busy.", None, 5)

    refused = api_error(JobError("No agents with ids x in this tenant.", field="agentIds"))
    assert (refused.status_code, refused.field, getattr(refused, "wait", None)) == (400, "agentIds", None)


# --- failing a job ------------------------------------------------------------------------------------------------


def test_failing_a_job_ends_it_once_with_its_message(tenant):
    job = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT)

    assert services.job_fail(job_pk=job.pk, message="It broke.") is True
    assert services.job_fail(job_pk=job.pk, message="Again.") is False

    job.refresh_from_db()
    assert (job.status, job.message, job.version) == (Job.Status.FAILURE, "It broke.", 2)


def test_only_an_unfinished_job_can_be_locked_for_finishing(tenant):
    running = Job.objects.create(tenant=tenant, type=Job.Type.IMPORT)
    done = Job.objects.create(tenant=tenant, type=Job.Type.IMPORT, status=Job.Status.SUCCESS)

    assert services.job_lock_unfinished(job_pk=running.pk) is True
    assert services.job_lock_unfinished(job_pk=done.pk) is False
    assert services.job_lock_unfinished(job_pk=0) is False


# --- bulk delete --------------------------------------------------------------------------------------------------


def test_a_bulk_delete_deletes_only_the_tenants_matching_jobs_in_batches(tenant, other_tenant):
    at = now_ms() - timedelta(minutes=1)
    for i in range(5):
        Job.objects.create(tenant=tenant, job_id=f"j{i}", type=Job.Type.EXPORT, created_at=at)
    Job.objects.create(tenant=tenant, job_id="spared", type=Job.Type.IMPORT)
    Job.objects.create(tenant=other_tenant, job_id="j0", type=Job.Type.EXPORT)

    result = services.jobs_delete(tenant=tenant, jobs=Job.objects.filter(type=Job.Type.EXPORT), batch=2, seconds=60)

    assert result == services.JobsDeleted(5, done=True)
    assert sorted(Job.objects.values_list("tenant__name", "job_id")) == [("acme", "spared"), ("globex", "j0")]


def test_a_bulk_delete_out_of_time_says_it_is_not_done_and_the_next_call_goes_on(tenant):
    for i in range(3):
        Job.objects.create(tenant=tenant, job_id=f"j{i}", type=Job.Type.EXPORT)

    first = services.jobs_delete(tenant=tenant, jobs=Job.objects.all(), batch=2, seconds=0)
    second = services.jobs_delete(tenant=tenant, jobs=Job.objects.all(), batch=2, seconds=0)

    assert (first, second) == (services.JobsDeleted(2, done=False), services.JobsDeleted(1, done=True))
    assert not Job.objects.exists()


# --- the export file ----------------------------------------------------------------------------------------------


def test_the_export_file_of_a_stored_bundle_reads_the_bundle_as_it_is_sent(tenant):
    data, checksum = bundle_encode({"agents": [], "tools": [], "mcpServers": []})
    job = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT)
    services.job_finish(job_pk=job.pk, status=Job.Status.SUCCESS, export_result={"data": data, "checksum": checksum})
    job.refresh_from_db()

    saved = export_file(job=job)

    assert saved == {
        "exportedAt": format_instant(job.finished_at),
        "data": BundleData(tenant_id=tenant.pk, job_pk=job.pk, size=len(data)),
        "checksum": checksum,
    }


def test_the_export_file_of_a_loaded_export_comes_from_its_row_with_its_last_change_as_the_time(tenant):
    job = Job.objects.create(
        tenant=tenant,
        type=Job.Type.EXPORT,
        status=Job.Status.SUCCESS,
        export_result={"data": "ZGF0YQ==", "checksum": "c" * 64},
    )

    assert export_file(job=job) == {
        "exportedAt": format_instant(job.modified_at),
        "data": "ZGF0YQ==",
        "checksum": "c" * 64,
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"type": Job.Type.IMPORT, "status": Job.Status.SUCCESS, "export_result": {"data": "x", "checksum": "y"}},
        {"type": Job.Type.EXPORT, "status": Job.Status.FAILURE, "export_result": {"data": "x", "checksum": "y"}},
        {"type": Job.Type.EXPORT, "status": Job.Status.SUCCESS, "export_result": None},
        {"type": Job.Type.EXPORT, "status": Job.Status.SUCCESS, "export_result": {"data": "x"}},
        {"type": Job.Type.EXPORT, "status": Job.Status.SUCCESS, "export_result": {"data": 1, "checksum": "y"}},
    ],
)
def test_there_is_no_export_file_for_anything_but_a_successful_export_holding_a_bundle(tenant, fields):
    assert export_file(job=Job.objects.create(tenant=tenant, **fields)) is None


def test_a_job_stopped_by_its_hard_time_limit_fails_naming_the_limit_and_the_setting_to_raise(tenant, settings):
    job = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT)

    runners.job_timed_out(job_pk=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILURE
    assert job.message == (
        f"The export was stopped after {settings.CELERY_TASK_TIME_LIMIT} s, its hard time limit; nothing was "
        "changed. Try again with fewer agents, or raise JOB_TIME_LIMIT_SECONDS."
    )

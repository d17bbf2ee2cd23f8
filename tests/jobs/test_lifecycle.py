"""The lifecycle of export and import jobs, by calling the services and the runner directly (no broker, no worker):
finishing once, claiming with a cap on attempts, late deliveries, failures, and the scheduler's sweep."""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest

from apps.agents import importing
from apps.agents.bundle import bundle_collect, bundle_decode, bundle_encode
from apps.agents.models import Agent
from apps.agents.seeding import seed_catalogue
from apps.core.timefmt import now_ms
from apps.jobs import runners, services, tasks
from apps.jobs.history import jobs_from_history
from apps.jobs.models import ExportBundle, Job
from apps.jobs.runners import job_execute
from apps.jobs.services import job_claim, job_finish, jobs_sweep
from apps.tenants.models import Tenant
from tests.agents.conftest import agent_body, rag_tool_body

EXPORT_RESULT = {"data": "ZGF0YQ==", "checksum": "c" * 64}


@pytest.fixture
def export_job(tenant: Tenant) -> Job:
    return Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a1"]})


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> mock.Mock:
    """The task's sending, recorded instead of reaching a broker."""
    send = mock.Mock(name="job_run.apply_async")
    monkeypatch.setattr(tasks.job_run, "apply_async", send)
    return send


def row(job: Job) -> dict[str, Any]:
    """The job's columns, with the export result where it is stored: in its own ExportBundle row."""
    values: dict[str, Any] = Job.objects.filter(pk=job.pk).values().get()
    bundle = ExportBundle.objects.filter(job_id=job.pk).values("data", "checksum").first()
    if bundle is not None:
        assert values["export_result"] is None  # stored once
        values["export_result"] = bundle
    return values


def age(job: Job, seconds: float, **more: Any) -> None:
    """Pretend the job was created `seconds` ago (and set other columns, e.g. dispatched_at)."""
    Job.objects.filter(pk=job.pk).update(created_at=now_ms() - timedelta(seconds=seconds), **more)


def ago(seconds: float) -> Any:
    return now_ms() - timedelta(seconds=seconds)


def import_job(tenant: Tenant, document: dict[str, Any]) -> Job:
    data, checksum = bundle_encode(document)
    return Job.objects.create(tenant=tenant, type=Job.Type.IMPORT, payload={"data": data, "checksum": checksum})


# --- job_finish ------------------------------------------------------------------------------------------------------


def test_finishing_a_job_sets_its_final_state_once_and_bumps_its_version_once(export_job):
    before = row(export_job)

    assert job_finish(job_pk=export_job.pk, status=Job.Status.SUCCESS, export_result=EXPORT_RESULT) is True

    after = row(export_job)
    assert after["status"] == "success"
    assert after["export_result"] == EXPORT_RESULT
    assert after["version"] == before["version"] + 1 == 2
    assert after["finished_at"] is not None
    assert after["modified_at"] == after["finished_at"] >= before["modified_at"]


def test_a_second_finish_returns_false_and_changes_nothing(export_job):
    job_finish(job_pk=export_job.pk, status=Job.Status.SUCCESS, export_result=EXPORT_RESULT)
    first = row(export_job)

    assert job_finish(job_pk=export_job.pk, status=Job.Status.FAILURE, message="too late") is False
    assert job_finish(job_pk=export_job.pk, status=Job.Status.SUCCESS, export_result={"data": "x"}) is False

    assert row(export_job) == first


def test_finishing_a_deleted_job_returns_false_and_creates_nothing(export_job):
    pk = export_job.pk
    export_job.delete()

    assert job_finish(job_pk=pk, status=Job.Status.SUCCESS, export_result=EXPORT_RESULT) is False
    assert not Job.objects.filter(pk=pk).exists()


def test_a_failed_export_and_a_successful_one_keep_their_agent_ids(tenant):
    failed = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a1"]})
    exported = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a1"]})

    job_finish(job_pk=failed.pk, status=Job.Status.FAILURE, message="no")
    job_finish(job_pk=exported.pk, status=Job.Status.SUCCESS, export_result=EXPORT_RESULT)

    assert row(failed)["payload"] == {"agentIds": ["a1"]}  # kept, so that it can be retried
    assert row(exported)["payload"] == {"agentIds": ["a1"]}


def test_a_failed_import_keeps_its_bundle_so_that_it_can_be_retried(tenant):
    bundle = {"data": "x" * 1000, "checksum": "c"}
    job = Job.objects.create(tenant=tenant, type=Job.Type.IMPORT, payload=bundle)

    job_finish(job_pk=job.pk, status=Job.Status.FAILURE, message="no")

    assert row(job)["payload"] == bundle


def test_a_finished_import_no_longer_keeps_its_bundle(tenant):
    job = Job.objects.create(tenant=tenant, type=Job.Type.IMPORT, payload={"data": "x" * 1000, "checksum": "c"})

    job_finish(job_pk=job.pk, status=Job.Status.SUCCESS, import_result={"summary": {}, "message": "done"})

    assert row(job)["payload"] is None


# --- job_claim -------------------------------------------------------------------------------------------------------


def test_claiming_counts_an_attempt_notes_the_start_and_returns_the_job_with_its_tenant(export_job):
    claimed = job_claim(job_pk=export_job.pk)

    assert claimed is not None and claimed.pk == export_job.pk
    assert claimed.attempts == 1 and claimed.started_at is not None
    assert claimed.tenant.name == "acme"
    assert claimed.status == "in_progress" and claimed.version == 1  # a claim is not a change of the job
    assert job_claim(job_pk=export_job.pk).attempts == 2  # type: ignore[union-attr]


def test_a_job_claimed_max_attempts_times_is_failed_instead_of_run_again(export_job, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    assert job_claim(job_pk=export_job.pk) is not None
    assert job_claim(job_pk=export_job.pk) is not None

    assert job_claim(job_pk=export_job.pk) is None

    failed = row(export_job)
    assert failed["status"] == "failure"
    assert failed["attempts"] == 2
    assert failed["message"].startswith("Gave up after 2 attempts: the worker running this job stopped each time")
    assert failed["version"] == 2


def test_claiming_a_finished_job_returns_none_and_changes_nothing(export_job):
    job_finish(job_pk=export_job.pk, status=Job.Status.SUCCESS, export_result=EXPORT_RESULT)
    before = row(export_job)

    assert job_claim(job_pk=export_job.pk) is None
    assert row(export_job) == before


def test_claiming_a_deleted_job_returns_none(export_job):
    pk = export_job.pk
    export_job.delete()

    assert job_claim(job_pk=pk) is None
    assert not Job.objects.filter(pk=pk).exists()


# --- job_execute -----------------------------------------------------------------------------------------------------


def test_an_export_job_run_by_the_runner_succeeds_with_a_bundle_import_accepts(tenant):
    catalogue = seed_catalogue(tenant=tenant, agents=2, tools_per_agent=1, servers_per_agent=1)
    job = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": catalogue.agents[:1]})

    job_execute(job_pk=job.pk)

    done = row(job)
    assert (done["status"], done["attempts"], done["version"], done["message"]) == ("success", 1, 2, None)
    document = bundle_decode(done["export_result"]["data"], done["export_result"]["checksum"])
    assert [agent["id"] for agent in document["agents"]] == catalogue.agents


def test_an_import_job_run_by_the_runner_succeeds_and_writes_the_agents(tenant, other_tenant):
    seed_catalogue(tenant=tenant, agents=1, tools_per_agent=1, servers_per_agent=0, prefix="x")
    job = import_job(other_tenant, bundle_collect(tenant=tenant, agent_ids=["x-agent-0"]))

    job_execute(job_pk=job.pk)

    done = row(job)
    assert done["status"] == "success", done["message"]
    assert [a["id"] for a in done["import_result"]["summary"]["agents"]] == ["x-agent-0"]
    assert done["payload"] is None
    assert Agent.objects.filter(tenant=other_tenant, public_id="x-agent-0", enabled=False).exists()


@pytest.mark.parametrize("status", [Job.Status.SUCCESS, Job.Status.FAILURE])
def test_a_late_or_repeated_task_for_a_finished_job_does_nothing(export_job, monkeypatch, status):
    collect = mock.Mock(side_effect=AssertionError("a finished job must not be run again"))
    monkeypatch.setattr(runners, "bundle_collect", collect)
    job_finish(job_pk=export_job.pk, status=status, message="first", export_result=EXPORT_RESULT)
    before = row(export_job)

    job_execute(job_pk=export_job.pk)
    tasks.job_run(export_job.pk)  # the task body, as a redelivery would run it

    assert row(export_job) == before
    collect.assert_not_called()


def test_a_repeated_import_task_after_success_does_not_import_twice(tenant, other_tenant):
    seed_catalogue(tenant=tenant, agents=1, tools_per_agent=0, servers_per_agent=0, prefix="x")
    job = import_job(other_tenant, bundle_collect(tenant=tenant, agent_ids=["x-agent-0"]))
    job_execute(job_pk=job.pk)
    after_first = row(job)

    job_execute(job_pk=job.pk)

    assert row(job) == after_first
    assert Agent.objects.filter(tenant=other_tenant).count() == 1


def test_a_task_for_a_deleted_job_does_nothing(export_job):
    pk = export_job.pk
    export_job.delete()

    job_execute(job_pk=pk)

    assert not Job.objects.filter(pk=pk).exists()


def test_an_export_whose_agent_was_deleted_meanwhile_finishes_without_it_and_stays_finished(tenant):
    catalogue = seed_catalogue(tenant=tenant, agents=1, tools_per_agent=1, servers_per_agent=0, prefix="x")
    seed_catalogue(tenant=tenant, agents=1, tools_per_agent=1, servers_per_agent=0, prefix="y")
    job = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["x-agent-0", "y-agent-0"]})
    Agent.objects.filter(tenant=tenant, public_id="y-agent-0").delete()

    job_execute(job_pk=job.pk)
    done = row(job)
    job_execute(job_pk=job.pk)

    assert done["status"] == "success"
    document = bundle_decode(done["export_result"]["data"], done["export_result"]["checksum"])
    assert [agent["id"] for agent in document["agents"]] == catalogue.agents
    assert [tool["id"] for tool in document["tools"]] == catalogue.tools
    assert row(job) == done


def test_an_export_whose_only_agent_was_deleted_meanwhile_does_not_succeed_with_a_bundle_import_refuses(tenant):
    catalogue = seed_catalogue(tenant=tenant, agents=1, tools_per_agent=1, servers_per_agent=0)
    job = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": catalogue.agents})
    Agent.objects.filter(tenant=tenant).delete()

    job_execute(job_pk=job.pk)

    done = row(job)
    assert done["status"] in Job.FINAL
    if done["status"] == "success":
        # A successful export must be importable; "The export holds no agents." is what import would say.
        document = json.loads(base64.b64decode(done["export_result"]["data"]))
        assert document["agents"], "the export succeeded with a bundle that holds no agents, which import refuses"
    else:
        assert catalogue.agents[0] in done["message"]


def test_an_internal_error_fails_the_job_naming_it_without_the_traceback(export_job, monkeypatch, caplog):
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("connection to vector store at 10.0.0.7 refused")

    monkeypatch.setattr(runners, "bundle_collect", broken)

    with caplog.at_level(logging.ERROR, logger="apps.jobs.runners"):
        job_execute(job_pk=export_job.pk)

    failed = row(export_job)
    assert failed["status"] == "failure"
    assert failed["message"] == (
        "The export failed because of an internal error and changed nothing; the worker log has the details "
        f"under job {export_job.job_id}."
    )
    for leak in ("Traceback", "RuntimeError", "10.0.0.7", 'File "'):
        assert leak not in failed["message"]
    assert any(record.exc_info and export_job.job_id in record.getMessage() for record in caplog.records)


def test_an_import_that_breaks_half_way_fails_and_changes_nothing(tenant, other_tenant, monkeypatch):
    seed_catalogue(tenant=tenant, agents=3, tools_per_agent=1, servers_per_agent=1)
    job = import_job(other_tenant, bundle_collect(tenant=tenant, agent_ids=["s-agent-0"]))
    apply = importing.bundle_apply

    def apply_then_break(**kwargs: Any) -> Any:
        apply(**kwargs)
        assert Agent.objects.filter(tenant=other_tenant).count() == 3  # written, not yet committed
        raise RuntimeError("disk full")

    monkeypatch.setattr(runners, "bundle_apply", apply_then_break)

    job_execute(job_pk=job.pk)

    failed = row(job)
    assert failed["status"] == "failure"
    assert failed["message"].startswith("The import failed because of an internal error and changed nothing")
    assert job.job_id in failed["message"]
    assert not Agent.objects.filter(tenant=other_tenant).exists()


def test_an_import_whose_bundle_no_longer_checks_out_fails_saying_why(other_tenant, settings):
    job = import_job(other_tenant, {"formatVersion": 1, "agents": [{"id": "a1"}]})
    settings.EXPORT_SIGNING_KEY = "rotated after the request was accepted"

    job_execute(job_pk=job.pk)

    failed = row(job)
    assert failed["status"] == "failure"
    assert failed["message"].startswith("The import could not be read: checksum does not match data")
    assert failed["payload"] == job.payload  # kept for a retry
    assert not Agent.objects.filter(tenant=other_tenant).exists()


def test_a_job_of_a_type_no_app_runs_fails_saying_so(tenant, monkeypatch):
    monkeypatch.delitem(runners._RUNNERS, Job.Type.AGENT_CHAT)
    job = Job.objects.create(tenant=tenant, type=Job.Type.AGENT_CHAT, payload={"x": 1})

    job_execute(job_pk=job.pk)

    assert row(job)["status"] == "failure"
    assert row(job)["message"] == "Jobs of type AGENT_CHAT are not run by this installation."


# --- jobs_sweep ------------------------------------------------------------------------------------------------------


def test_the_sweep_resends_undispatched_jobs_older_than_five_seconds_only(export_job, tenant, broker, settings):
    settings.JOB_DISPATCH_DEADLINE_SECONDS = 600
    young = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a1"]})
    age(export_job, 10)
    age(young, 1)

    assert jobs_sweep() == {"failed_undeliverable": 0, "resent": 1, "reaped": 0}

    broker.assert_called_once_with(args=[export_job.pk], queue="celery", countdown=None, retry=False)
    assert row(export_job)["dispatched_at"] is not None
    assert row(export_job)["status"] == "in_progress"
    assert row(young)["dispatched_at"] is None


def test_a_job_resent_once_is_not_resent_again(export_job, broker, settings):
    settings.JOB_DISPATCH_DEADLINE_SECONDS = 600
    age(export_job, 10)
    jobs_sweep()

    assert jobs_sweep()["resent"] == 0
    assert broker.call_count == 1


def test_a_resend_the_broker_refuses_leaves_the_job_waiting_for_the_next_sweep(export_job, broker, settings):
    settings.JOB_DISPATCH_DEADLINE_SECONDS = 600
    broker.side_effect = ConnectionRefusedError("broker down")
    age(export_job, 10)

    assert jobs_sweep()["resent"] == 0

    assert (row(export_job)["status"], row(export_job)["dispatched_at"]) == ("in_progress", None)
    broker.side_effect = None
    assert jobs_sweep()["resent"] == 1


def test_the_sweep_fails_undispatched_jobs_past_the_dispatch_deadline_saying_why(export_job, tenant, broker, settings):
    settings.JOB_DISPATCH_DEADLINE_SECONDS = 60
    within = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a1"]})
    age(export_job, 61)
    age(within, 59)

    assert jobs_sweep() == {"failed_undeliverable": 1, "resent": 1, "reaped": 0}

    failed = row(export_job)
    assert failed["status"] == "failure"
    assert failed["message"].startswith("No worker could be reached for 60 s: the message broker (REDIS_URL) was down")
    assert failed["payload"] == {"agentIds": ["a1"]} and failed["version"] == 2
    # Only the job within the deadline was sent.
    broker.assert_called_once_with(args=[within.pk], queue="celery", countdown=None, retry=False)


def test_the_sweep_reaps_dispatched_jobs_that_no_worker_finished_in_time(tenant, broker, settings):
    settings.JOB_STUCK_AFTER_SECONDS = 100
    started_long_ago = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a"]})
    never_started = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a"]})
    age(started_long_ago, 500, dispatched_at=ago(400), started_at=ago(300), attempts=1)
    age(never_started, 500, dispatched_at=ago(400))

    assert jobs_sweep() == {"failed_undeliverable": 0, "resent": 0, "reaped": 2}

    for job in (started_long_ago, never_started):
        reaped = row(job)
        assert reaped["status"] == "failure"
        assert reaped["message"].startswith("Stopped: no worker finished this job within 100 s")
        assert reaped["version"] == 2
    broker.assert_not_called()


def test_the_sweep_leaves_jobs_that_were_dispatched_or_started_recently_alone(tenant, broker, settings):
    settings.JOB_STUCK_AFTER_SECONDS = 100
    dispatched_recently = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a"]})
    restarted_recently = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a"]})
    age(dispatched_recently, 500, dispatched_at=ago(50))
    # Delivered long ago, but a worker (re)started it a moment ago: it is running, not stuck.
    age(restarted_recently, 500, dispatched_at=ago(400), started_at=ago(50), attempts=2)
    before = [row(dispatched_recently), row(restarted_recently)]

    assert jobs_sweep() == {"failed_undeliverable": 0, "resent": 0, "reaped": 0}

    assert [row(dispatched_recently), row(restarted_recently)] == before
    broker.assert_not_called()


def test_the_sweep_never_touches_finished_jobs(tenant, broker, settings):
    settings.JOB_STUCK_AFTER_SECONDS = 1
    settings.JOB_DISPATCH_DEADLINE_SECONDS = 1
    done = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a"]})
    waiting_done = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a"]})
    job_finish(job_pk=done.pk, status=Job.Status.SUCCESS, export_result=EXPORT_RESULT)
    job_finish(job_pk=waiting_done.pk, status=Job.Status.SUCCESS, export_result=EXPORT_RESULT)
    age(done, 500, dispatched_at=ago(400), started_at=ago(400))
    age(waiting_done, 500)
    before = [row(done), row(waiting_done)]

    assert jobs_sweep() == {"failed_undeliverable": 0, "resent": 0, "reaped": 0}
    assert [row(done), row(waiting_done)] == before


def test_loaded_and_seeded_jobs_without_a_payload_are_never_touched_by_the_sweep(tenant, broker, settings):
    settings.JOB_STUCK_AFTER_SECONDS = 1
    settings.JOB_DISPATCH_DEADLINE_SECONDS = 1
    loaded = jobs_from_history(
        [
            {
                "id": "6881f0a3c0ffee0000000001",
                "type": "EXPORT",
                "status": "in_progress",
                "metadata": {"version": 1, "createdAt": "2020-01-01T00:00:00.000Z"},
            },
            {"id": "legacy-import", "type": "IMPORT", "status": "in_progress"},
        ]
    )
    services.job_load_history(tenant=tenant, jobs=loaded)
    seeded = Job.objects.create(tenant=tenant, type=Job.Type.AGENT_CHAT, status=Job.Status.IN_PROGRESS)
    age(seeded, 10**6)
    Job.objects.filter(job_id="legacy-import").update(created_at=ago(10**6))
    before = list(Job.objects.order_by("pk").values())
    assert all(job["payload"] is None and job["status"] == "in_progress" for job in before)

    assert jobs_sweep() == {"failed_undeliverable": 0, "resent": 0, "reaped": 0}

    assert list(Job.objects.order_by("pk").values()) == before
    broker.assert_not_called()


def test_the_scheduled_sweep_task_runs_the_sweep_and_reports_its_counts(export_job, broker, settings):
    settings.JOB_DISPATCH_DEADLINE_SECONDS = 600
    age(export_job, 10)

    assert tasks.jobs_sweep() == {"failed_undeliverable": 0, "resent": 1, "reaped": 0}


# --- how the Jobs API shows a failed entity of an import ------------------------------------------------------------


def test_the_jobs_api_shows_a_failed_import_entity_as_to_create_keeping_why(tenant, manager, monkeypatch):
    original = importing.references_add

    def failing(**kwargs: Any) -> None:
        if kwargs["public_id"] == "tool-bad":
            raise RuntimeError("boom")
        original(**kwargs)

    monkeypatch.setattr(importing, "references_add", failing)
    # Valid entities (an import validates each as the API's PUT does), so that the tool fails in its write.
    document = {
        "formatVersion": 1,
        "agents": [{"id": "a1", **agent_body("t1", tools=("tool-bad",))}],
        "tools": [{"id": "tool-bad", **rag_tool_body("t1", name="Broken")}],
    }
    job = import_job(tenant, document)
    job_execute(job_pk=job.pk)
    stored = row(job)["import_result"]
    assert stored["summary"]["tools"][0]["state"] == "FAILED"  # the row keeps what happened

    response = manager.get(f"/ai-service/acme/jobs/{job.job_id}")  # the client checks the contract

    assert response.status_code == 200
    [tool] = response.body["importResult"]["summary"]["tools"]
    assert tool["state"] == "TO_CREATE"
    assert [d["code"] for d in tool["details"]] == ["IMPORT_FAILED"]
    assert response.body["importResult"]["summary"]["agents"] == stored["summary"]["agents"]
    assert response.body["importResult"]["message"] == stored["message"]


@pytest.mark.parametrize("path", ["/ai-service/acme/jobs", "/ai-service/acme/jobs/search"])
def test_lists_and_searches_show_failed_import_entities_as_to_create_too(tenant, make_job, manager, path):
    result = {
        "message": "0 agents imported (disabled); 0 tools or MCP servers created; 1 entity failed.",
        "summary": {
            "agents": [{"id": "a1", "name": "A", "state": "FAILED", "details": [{"code": "IMPORT_FAILED"}]}],
            "tools": [],
            "mcpServers": [{"id": "m1", "name": "M", "state": "EXISTS"}],
        },
    }
    make_job(job_id="imp-1", type=Job.Type.IMPORT, status=Job.Status.SUCCESS, import_result=result)

    if path.endswith("search"):
        response = manager.post(path, {"q": "id:imp-1"}, content_type="application/json")
    else:
        response = manager.get(path)

    assert response.status_code == 200
    [job] = response.body
    assert job["importResult"]["summary"]["agents"][0]["state"] == "TO_CREATE"
    assert job["importResult"]["summary"]["mcpServers"][0]["state"] == "EXISTS"
    assert Job.objects.get(job_id="imp-1").import_result == result

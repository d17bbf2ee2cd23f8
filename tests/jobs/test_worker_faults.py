"""Faults in worker processes: a pool process killed in the middle of an import, time limits.

Kept apart from test_transfer_worker.py: its in-process worker would take these tests' tasks."""

from __future__ import annotations

import sqlite3

import pytest
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from apps.agents.bundle import bundle_encode
from apps.agents.models import Agent, Tool
from apps.agents.seeding import seed_catalogue
from apps.jobs import tasks
from apps.jobs.models import Job
from tests.agents.conftest import agent_body
from tests.jobs.test_transfer_worker import export, import_
from tests.worker import WorkerProcess, thread_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_killed_in_the_middle_of_an_import_leaves_all_or_nothing(tenant, other_tenant, manager, outsider):
    catalogue = seed_catalogue(tenant=tenant, agents=100, tools_per_agent=3, servers_per_agent=2)
    with thread_worker():
        exported = export(manager, "acme", catalogue.agents).body
    globex = outsider
    bundle = {"data": exported["data"], "checksum": exported["checksum"]}

    worker = WorkerProcess()
    try:
        worker.wait_ready()
        response = import_(globex, "globex", bundle, HTTP_PREFER="respond-async")
        job = Job.objects.get(job_id=response.body["jobId"])
        # Kill the pool process while its import transaction is open, part of the bundle written.
        worker.wait_for(lambda: _import_running(job.pk), what="the import to be under way", timeout=60)
        worker.kill_child()
        final = worker.wait_for(
            lambda: Job.objects.filter(pk=job.pk).exclude(status="in_progress").first(),
            what="the import to reach a final state",
            timeout=90,
        )
    finally:
        log = worker.stop()

    agents = Agent.objects.filter(tenant=other_tenant).count()
    tools = Tool.objects.filter(tenant=other_tenant).count()
    if final.status == "success":
        assert (agents, tools) == (100, 300), log
        assert final.attempts >= 2, "the killed attempt must have been followed by another"
    else:
        assert (agents, tools) == (0, 0), log
        assert final.message


def test_an_import_past_its_soft_time_limit_fails_saying_so_and_changes_nothing(other_tenant):
    # Far more agents than can be imported within one second, so the limit strikes in the middle of the import.
    # Valid agents (as the API's PUT takes them), so that each one is written and none is refused on sight.
    agents = [{"id": f"a{n}", **agent_body("tok", name=f"Agent {n}")} for n in range(40000)]
    data, checksum = bundle_encode({"formatVersion": 1, "agents": agents})
    # At INFO, the worker's log (shown if the job never finishes) says when the task started and how it ended.
    worker = WorkerProcess(log_level="INFO", JOB_SOFT_TIME_LIMIT_SECONDS="1", JOB_TIME_LIMIT_SECONDS="60")
    timeouts_before = job_runs("IMPORT", "timeout")
    try:
        worker.wait_ready()
        job = Job.objects.create(
            tenant=other_tenant, type=Job.Type.IMPORT, payload={"data": data, "checksum": checksum}
        )
        # The sender writes the limits into the message (the web's settings name them as the worker's do).
        tasks.job_run.apply_async(args=[job.pk], soft_time_limit=1, time_limit=60)
        # Past the hard limit (60 s), so that a soft limit that did not strike shows as the hard limit's message.
        final = worker.wait_for(
            lambda: Job.objects.filter(pk=job.pk).exclude(status="in_progress").first(),
            what="the job to fail",
            timeout=90,
        )
    finally:
        log = worker.stop()
    assert final.status == "failure", log
    assert final.message.startswith("The import took longer than 1 s and was stopped; nothing was changed"), log
    assert not Agent.objects.filter(tenant=other_tenant).exists()
    # Counted by the worker's pool process, in the metrics folder the web's /metrics reads.
    assert job_runs("IMPORT", "timeout") - timeouts_before == 1


def job_runs(job_type: str, outcome: str) -> float:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(settings.METRICS_DIR))
    found = registry.get_sample_value("aic_job_runs_total", {"type": job_type, "outcome": outcome})
    return found or 0.0


def _import_running(job_pk: int) -> bool:
    job = Job.objects.get(pk=job_pk)
    if job.attempts < 1:
        return False
    if connection.vendor == "sqlite":
        # The import holds SQLite's write lock until it commits: a lock we cannot take means it is under way.
        probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
        return False
    # The import holds the job's row lock until it commits: a lock we cannot take means it is under way.
    try:
        with transaction.atomic():
            Job.objects.select_for_update(nowait=True).filter(pk=job_pk).first()
    except DatabaseError:
        return True
    return False


def test_a_job_killed_at_its_hard_time_limit_is_failed_by_the_worker_main_process(tenant):
    # Celery calls on_failure in the worker's main process when the hard limit kills the pool process.
    job = Job.objects.create(tenant=tenant, type=Job.Type.IMPORT, payload={"data": "", "checksum": ""})

    tasks.job_run.on_failure(TimeLimitExceeded(360), "task-id", (job.pk,), {}, None)

    job.refresh_from_db()
    assert job.status == "failure"
    assert job.message.startswith("The import was stopped after")
    assert "hard time limit" in job.message


def test_a_soft_time_limit_that_strikes_outside_the_job_code_still_fails_the_job(tenant):
    # Celery's clock starts when the pool process takes the task: on a busy machine a short limit can strike in
    # Celery's own code before the job's code runs, which then reports it as the task's failure.
    job = Job.objects.create(tenant=tenant, type=Job.Type.IMPORT, payload={"data": "", "checksum": ""})
    timeouts_before = job_runs("IMPORT", "timeout")

    tasks.job_run.on_failure(SoftTimeLimitExceeded(), "task-id", (job.pk,), {}, None)

    job.refresh_from_db()
    assert job.status == "failure"
    assert job.message.startswith(f"The import took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} s and was")
    assert "JOB_SOFT_TIME_LIMIT_SECONDS" in job.message
    assert job_runs("IMPORT", "timeout") - timeouts_before == 1


def test_a_soft_time_limit_reported_after_the_job_finished_changes_nothing(tenant):
    job = Job.objects.create(tenant=tenant, type=Job.Type.IMPORT, status="success", message="Imported.")
    timeouts_before = job_runs("IMPORT", "timeout")

    tasks.job_run.on_failure(SoftTimeLimitExceeded(), "task-id", (job.pk,), {}, None)

    job.refresh_from_db()
    assert (job.status, job.message) == ("success", "Imported.")
    assert job_runs("IMPORT", "timeout") == timeouts_before

"""The kept job counts (JobCount): exact after every way jobs are written, repaired by `jobs_recount`, and what
X-Total-Count answers for a list with no q or a q of status and type terms only; any other q is counted up to
API_TOTAL_COUNT_MAX.

Runs on both databases: the triggers are PostgreSQL's and SQLite's own. The tests of concurrent transactions run
on PostgreSQL only (tests/jobs/test_kept_counts_concurrency.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, F, Sum
from django.test.utils import CaptureQueriesContext

from apps.agents.seeding import seed_catalogue
from apps.console.jobs.services import console_jobs_delete
from apps.jobs import services, tasks
from apps.jobs.models import Job, JobCount
from apps.jobs.runners import job_execute
from apps.tenants.models import Tenant
from tests.jobs.conftest import LIST
from tests.jobs.test_commands import HISTORY

Counts = dict[tuple[str, str], int]


def kept(tenant: Tenant) -> Counts:
    """The kept counts of the tenant by (type, status), summed over their slots; zeros left out."""
    rows = JobCount.objects.filter(tenant_id=tenant.pk).values_list("type", "status").annotate(n=Sum("n"))
    return {(job_type, status): n for job_type, status, n in rows.order_by() if n}


def counted(tenant: Tenant) -> Counts:
    """The same, counted from the jobs themselves."""
    rows = Job.objects.filter(tenant_id=tenant.pk).values_list("type", "status").annotate(n=Count("*"))
    return {(job_type, status): n for job_type, status, n in rows.order_by()}


def assert_exact(*tenants: Tenant) -> None:
    for tenant in tenants:
        assert kept(tenant) == counted(tenant), tenant.name


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> mock.Mock:
    """Tasks recorded instead of sent: the jobs stay in progress until a test runs them."""
    send = mock.Mock(name="job_run.apply_async")
    monkeypatch.setattr(tasks.job_run, "apply_async", send)
    return send


def export_job(tenant: Tenant, **fields: Any) -> Job:
    return Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a1"]}, **fields)


# --- Every write path ------------------------------------------------------------------------------------------


def test_jobs_made_through_the_api_are_counted(tenant, manager, broker):
    catalogue = seed_catalogue(tenant=tenant, agents=1)
    path = "/ai-service/acme/agentic/agents/export"

    for _ in range(2):
        response = manager.post(
            path, {"agentIds": catalogue.agents}, content_type="application/json", HTTP_PREFER="respond-async"
        )
        assert response.status_code == 202, response.body

    assert kept(tenant) == {("EXPORT", "in_progress"): 2}


def test_a_job_the_worker_runs_moves_from_in_progress_to_its_final_status(tenant, broker):
    catalogue = seed_catalogue(tenant=tenant, agents=1)
    job = services.export_start(tenant=tenant, agent_ids=catalogue.agents)
    assert kept(tenant) == {("EXPORT", "in_progress"): 1}

    job_execute(job_pk=job.pk)

    assert Job.objects.get(pk=job.pk).status == "success"
    assert kept(tenant) == {("EXPORT", "success"): 1}


def test_finishing_failing_and_cancelling_through_the_services_move_the_counts(tenant, other_tenant):
    jobs = [export_job(tenant) for _ in range(4)] + [export_job(other_tenant)]

    services.job_finish(job_pk=jobs[0].pk, status=Job.Status.SUCCESS)
    services.job_fail(job_pk=jobs[1].pk, message="broken")
    services.job_cancel(job_pk=jobs[2].pk, by="mia")
    services.job_finish(job_pk=jobs[0].pk, status=Job.Status.FAILURE)  # finished already: no change

    assert kept(tenant) == {("EXPORT", "success"): 1, ("EXPORT", "failure"): 2, ("EXPORT", "in_progress"): 1}
    assert kept(other_tenant) == {("EXPORT", "in_progress"): 1}


def test_a_save_that_changes_neither_type_nor_status_leaves_the_counts_alone(tenant, make_job):
    job = make_job(message="first")
    before = list(JobCount.objects.values_list("slot", "n"))

    job.message = "second"
    job.save()
    Job.objects.filter(pk=job.pk).update(attempts=F("attempts") + 1)

    assert list(JobCount.objects.values_list("slot", "n")) == before


def test_changing_type_or_status_by_a_bulk_update_moves_every_row_it_changes(tenant, make_job):
    for status in ("in_progress", "in_progress", "success"):
        make_job(status=status)

    Job.objects.filter(tenant=tenant).update(status="failure", type="IMPORT")

    assert kept(tenant) == {("IMPORT", "failure"): 3}


def test_a_retry_and_the_sweep_are_counted(tenant, broker, settings):
    failed = export_job(tenant, status=Job.Status.FAILURE)
    services.job_retry(job=failed)
    assert kept(tenant) == {("EXPORT", "failure"): 1, ("EXPORT", "in_progress"): 1}

    settings.JOB_DISPATCH_DEADLINE_SECONDS = 0
    Job.objects.filter(status="in_progress").update(created_at=F("created_at") - timedelta(days=1))
    assert services.jobs_sweep()["failed_undeliverable"] == 1

    assert kept(tenant) == {("EXPORT", "failure"): 2}


def test_deleting_a_job_through_the_api_is_counted(tenant, manager, make_job):
    make_job(job_id="keep")
    make_job(job_id="gone", status="failure")

    assert manager.delete(f"{LIST}/gone").status_code == 204

    assert kept(tenant) == {("AGENT_CHAT", "in_progress"): 1}


def test_a_bulk_delete_in_batches_is_counted(tenant, other_tenant, make_job):
    for n in range(7):
        make_job(job_id=f"j{n}", status="failure" if n % 2 else "success")
    export_job(other_tenant)

    deleted = console_jobs_delete(
        user=None, tenant=tenant, jobs=Job.objects.filter(status="failure"), detail={}, batch=2, seconds=60
    )

    assert (deleted.count, deleted.done) == (3, True)
    assert kept(tenant) == {("AGENT_CHAT", "success"): 4}
    assert kept(other_tenant) == {("EXPORT", "in_progress"): 1}


def test_deleting_a_tenant_takes_its_counts_to_zero(tenant, other_tenant, make_job):
    make_job()
    export_job(other_tenant)

    tenant.delete()

    assert kept(tenant) == {}
    assert kept(other_tenant) == {("EXPORT", "in_progress"): 1}


def test_load_jobs_is_counted(tenant, tmp_path: Path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps(HISTORY))

    call_command("load_jobs", "acme", str(path), stdout=StringIO())

    assert sum(kept(tenant).values()) == len(HISTORY)
    assert_exact(tenant)


def test_a_refused_load_counts_nothing(tenant, tmp_path: Path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps([*HISTORY, HISTORY[0]]))  # the same id twice: all or none

    with pytest.raises(CommandError):
        call_command("load_jobs", "acme", str(path), stdout=StringIO())

    assert kept(tenant) == {}


@pytest.mark.django_db(transaction=True)  # seed_jobs ends with VACUUM on PostgreSQL, outside any transaction
def test_seed_jobs_is_counted(make_job, tenant):
    make_job()

    call_command("seed_jobs", "--tenant", "acme", "--jobs-per-tenant", "300", stdout=StringIO())
    call_command("seed_jobs", "--tenants", "2", "--jobs-per-tenant", "40", stdout=StringIO())

    assert sum(kept(tenant).values()) == 301
    assert len(kept(tenant)) > 3  # a mix of types and statuses
    assert_exact(*Tenant.objects.all())


def test_a_rolled_back_transaction_leaves_the_counts_as_they_were(tenant, make_job):
    make_job(job_id="kept")
    before = kept(tenant)

    with pytest.raises(RuntimeError), transaction.atomic():
        make_job(job_id="made")
        Job.objects.filter(job_id="kept").update(status="failure")
        Job.objects.bulk_create([Job(tenant=tenant, job_id=f"b{n}", type="IMPORT") for n in range(5)])
        assert sum(kept(tenant).values()) == 7  # counted inside the transaction, as its own reads see it
        raise RuntimeError("rolled back")

    assert kept(tenant) == before == {("AGENT_CHAT", "in_progress"): 1}


def test_raw_sql_is_counted_too(tenant):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO jobs_job (tenant_id, job_id, type, status, version, created_at, modified_at, attempts)"
            " VALUES (%s, 'raw', 'IMPORT', 'success', 1, %s, %s, 0)",
            [tenant.pk, "2026-01-01 00:00:00", "2026-01-01 00:00:00"],
        )
    assert kept(tenant) == {("IMPORT", "success"): 1}

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM jobs_job WHERE job_id = 'raw'")
    assert kept(tenant) == {}


# --- Repair ----------------------------------------------------------------------------------------------------


def test_jobs_recount_fixes_a_corrupted_count_of_the_tenant_and_says_which(tenant, other_tenant, make_job):
    make_job(status="success")
    make_job(status="success")
    export_job(other_tenant)
    JobCount.objects.filter(tenant_id=tenant.pk).update(n=F("n") + 5)
    JobCount.objects.create(tenant_id=tenant.pk, type="IMPORT", status="failure", slot=3, n=2)
    JobCount.objects.filter(tenant_id=other_tenant.pk).update(n=9)
    out = StringIO()

    call_command("jobs_recount", "acme", stdout=out)

    assert kept(tenant) == {("AGENT_CHAT", "success"): 2}
    assert kept(other_tenant) == {("EXPORT", "in_progress"): 9}  # another tenant's: left alone
    assert "acme AGENT_CHAT success: was 7, is 2" in out.getvalue()
    assert "acme IMPORT failure: was 2, is 0" in out.getvalue()
    assert "2 count(s) fixed" in out.getvalue()


def test_jobs_recount_of_all_tenants_also_drops_the_counts_of_deleted_ones(tenant, other_tenant, make_job):
    make_job()
    export_job(other_tenant)
    JobCount.objects.all().update(n=0)
    JobCount.objects.create(tenant_id=other_tenant.pk + 1000, type="IMPORT", status="success", slot=0, n=4)
    out = StringIO()

    call_command("jobs_recount", stdout=out)

    assert_exact(tenant, other_tenant)
    assert not JobCount.objects.filter(tenant_id=other_tenant.pk + 1000).exists()
    assert f"deleted tenant {other_tenant.pk + 1000} IMPORT success: was 4, is 0" in out.getvalue()
    assert "3 count(s) fixed" in out.getvalue()


def test_jobs_recount_of_exact_counts_fixes_nothing_and_counts_keep_working(tenant, make_job):
    make_job()
    out = StringIO()

    call_command("jobs_recount", "acme", stdout=out)
    make_job(status="failure")

    assert "0 count(s) fixed" in out.getvalue()
    assert_exact(tenant)


def test_jobs_recount_refuses_an_unknown_tenant(db):
    with pytest.raises(CommandError, match="No tenant named 'nobody'"):
        call_command("jobs_recount", "nobody", stdout=StringIO())


# --- X-Total-Count ---------------------------------------------------------------------------------------------


@pytest.fixture
def mix(tenant: Tenant, other_tenant: Tenant, make_job: Callable[..., Job]) -> None:
    for n, (job_type, status) in enumerate(
        [("EXPORT", "success"), ("EXPORT", "failure"), ("IMPORT", "failure"), ("AGENT_CHAT", "success")]
        + [("AGENT_CHAT", "failure")] * 3
    ):
        make_job(job_id=f"j{n}", type=job_type, status=status, message=f"note {n}")
    Job.objects.create(tenant=other_tenant, type="EXPORT", status="failure")


def sql_of(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"].upper() for query in queries.captured_queries]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (None, 7),
        ("", 7),
        ("status:failure", 5),
        ("type:export", 2),
        ("type:(EXPORT, IMPORT) status:failure", 2),
        ("status:(success,failure) type:AGENT_CHAT", 4),
        ("status:success status:failure", 0),
        ("status:(success,failure) status:failure", 5),
        ("status:skipped", 0),
    ],
)
def test_the_total_of_a_status_and_type_query_comes_from_the_kept_counts(query_jobs, mix, q, expected):
    with CaptureQueriesContext(connection) as queries:
        response = query_jobs(q, headers={"X-Total-Count": "true"}, pageSize="1")

    assert response.status_code == 200, response.body
    assert response["X-Total-Count"] == str(expected)
    assert "X-Total-Count-Exact" not in response
    assert not [sql for sql in sql_of(queries) if "COUNT(" in sql]
    # Two status terms no job can meet at once need no query at all.
    reads_counts = q != "status:success status:failure"
    assert bool([sql for sql in sql_of(queries) if "JOBS_JOBCOUNT" in sql]) == reads_counts


def test_the_header_says_what_the_kept_counts_say(query_jobs, mix, tenant):
    # Proof of where the total comes from: a count put wrong on purpose shows through.
    JobCount.objects.filter(tenant_id=tenant.pk, type="EXPORT", status="success").update(n=F("n") + 40)

    assert query_jobs(headers={"X-Total-Count": "true"})["X-Total-Count"] == "47"
    assert query_jobs("status:failure", headers={"X-Total-Count": "true"})["X-Total-Count"] == "5"


def test_the_total_of_any_other_query_is_counted_up_to_the_bound(query_jobs, mix, settings):
    settings.API_TOTAL_COUNT_MAX = 3

    with CaptureQueriesContext(connection) as queries:
        response = query_jobs("message:~note", headers={"X-Total-Count": "true"}, pageSize="2")

    assert len(response.body) == 2
    assert (response["X-Total-Count"], response["X-Total-Count-Exact"]) == ("3", "false")
    (count,) = [sql for sql in sql_of(queries) if "COUNT(" in sql]
    assert "LIMIT 4" in count and "JOBS_JOBCOUNT" not in count


@pytest.mark.parametrize(("q", "expected"), [("message:~note", "7"), ("id:j1", "1"), ("status:failure id:j1", "1")])
def test_a_total_within_the_bound_is_exact(query_jobs, mix, settings, q, expected):
    settings.API_TOTAL_COUNT_MAX = 7

    response = query_jobs(q, headers={"X-Total-Count": "true"})

    assert response["X-Total-Count"] == expected
    assert "X-Total-Count-Exact" not in response


def test_a_bound_of_zero_counts_everything(query_jobs, mix, settings):
    settings.API_TOTAL_COUNT_MAX = 0

    response = query_jobs("message:~note", headers={"X-Total-Count": "true"})

    assert response["X-Total-Count"] == "7"
    assert "X-Total-Count-Exact" not in response


def test_the_total_of_a_tenant_without_jobs_is_zero(db, make_token, api, mix):
    lonely = Tenant.objects.create(name="lonely")
    api.defaults["HTTP_AUTHORIZATION"] = f"Bearer {make_token(lonely)}"

    response = api.get("/ai-service/lonely/jobs", HTTP_X_TOTAL_COUNT="true")

    assert (response.status_code, response["X-Total-Count"]) == (200, "0")


# --- The migration ---------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_jobs_there_already_and_its_reverse_removes_the_triggers(tenant, make_job):
    executor = MigrationExecutor(connection)
    before, after = [("jobs", "0008_agent_runs")], [("jobs", "0009_kept_counts")]
    try:
        executor.migrate(before)
        make_job(status="failure")  # no triggers now: nothing counts it but the migration
        make_job(status="failure")
        Job.objects.create(tenant=tenant, type="EXPORT")

        executor.loader.build_graph()
        executor.migrate(after)
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert kept(tenant) == {("AGENT_CHAT", "failure"): 2, ("EXPORT", "in_progress"): 1}
    make_job()
    assert_exact(tenant)


# --- Emptying the database -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_after_manage_py_flush_jobs_are_counted_from_zero(tenant, make_job):
    make_job()
    make_job(status="failure")

    call_command("flush", interactive=False, verbosity=0)  # ids start again from 1: old counts would be reused

    again = Tenant.objects.create(name="acme")
    Job.objects.create(tenant=again, type="EXPORT")
    assert kept(again) == {("EXPORT", "in_progress"): 1}
    assert not JobCount.objects.exclude(tenant_id=again.pk).exclude(n=0).exists()


def test_counts_deleted_before_the_jobs_leave_no_negative_count_once_recounted(tenant, make_job):
    """SQLite's flush deletes table by table in any order, so there a delete only lowers a count that exists; on
    PostgreSQL the counts stay exact arithmetic, and the repair command puts them right."""
    make_job()
    make_job(status="failure")

    JobCount.objects.all().delete()
    Job.objects.all().delete()

    if connection.vendor == "sqlite":
        assert not JobCount.objects.exists()
    call_command("jobs_recount", stdout=StringIO())
    assert not JobCount.objects.exclude(n=0).exists()

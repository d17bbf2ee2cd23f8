"""The fairness caps lock the tenant's row while they count, and must never wait for a worker: an import writes
rows pointing at the tenant for its whole run (KEY SHARE on the tenant row) and holds its own job's row. Found by
review: with FOR UPDATE, every export or import of the tenant hung behind a running import, and a request waiting
for its import could deadlock with the worker. PostgreSQL's row locks; CI runs the suite there."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection

from apps.jobs import services
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.worker import database_url

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks (KEY SHARE, SKIP LOCKED) are PostgreSQL's; CI runs the suite on PostgreSQL, where this runs",
)
pytestmark = [on_postgresql, pytest.mark.django_db(transaction=True)]


@contextmanager
def worker_holding(sql: str, pk: int) -> Iterator[None]:
    """Another connection, as a worker's, holding a row lock until the block ends."""
    with psycopg.connect(database_url().replace("postgres://", "postgresql://", 1)) as other, other.transaction():
        other.execute(sql, [pk])
        yield


@pytest.fixture
def give_up_on_locks() -> None:
    # A lock this code waits for fails the test at once instead of hanging it.
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '2s'")


def test_a_new_export_is_not_held_up_by_an_import_writing_the_tenants_rows(give_up_on_locks):
    tenant = Tenant.objects.create(name="acme")
    table = Tenant._meta.db_table

    with worker_holding(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", tenant.pk):  # noqa: S608
        job = services.job_create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a"]})

    assert job.status == Job.Status.IN_PROGRESS


def test_a_request_waits_uncounted_for_a_job_a_worker_is_already_running(give_up_on_locks):
    tenant = Tenant.objects.create(name="acme")
    job = Job.objects.create(tenant=tenant, type=Job.Type.IMPORT, payload={"data": "", "checksum": ""})
    table = Job._meta.db_table

    with worker_holding(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", job.pk):  # noqa: S608
        may_wait = services.job_wait_begin(job=job, seconds=5)

    job.refresh_from_db()
    assert may_wait is True
    assert job.awaited_until is None

"""The kept job counts under concurrent transactions, each on its own PostgreSQL connection as web and worker
processes have them: every committed write counted once, a rolled-back one not at all, and two writers of one
tenant waiting for each other only when their transactions fall on the same slot."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection

from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.jobs.test_kept_counts import assert_exact, kept
from tests.worker import database_url

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent writers need a server database; CI runs the suite on PostgreSQL, where this runs",
)
pytestmark = [on_postgresql, pytest.mark.django_db(transaction=True)]

INSERT = (
    "INSERT INTO jobs_job (tenant_id, job_id, type, status, version, created_at, modified_at, attempts)"
    " VALUES (%s, %s, 'EXPORT', 'in_progress', 1, now(), now(), 0)"
)
FINISH = "UPDATE jobs_job SET status = 'success' WHERE tenant_id = %s AND job_id = %s"


@contextmanager
def session() -> Iterator[psycopg.Connection]:
    """Another connection, as another process's; its transaction begins with its first statement."""
    with psycopg.connect(database_url().replace("postgres://", "postgresql://", 1)) as other:
        yield other


def slot_of(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT txid_current() % 16").fetchone()
    assert row is not None
    return int(row[0])


def test_two_open_transactions_inserting_jobs_of_one_tenant_are_both_counted(tenant: Tenant) -> None:
    Job.objects.create(tenant=tenant, type=Job.Type.EXPORT)
    with session() as first, session() as second, session() as observer:
        first.execute(INSERT, [tenant.pk, "first"])
        first_slot = slot_of(first)
        pid = second.info.backend_pid
        inserted = threading.Event()

        def insert() -> None:
            second.execute(INSERT, [tenant.pk, "second"])
            inserted.set()

        thread = threading.Thread(target=insert)
        thread.start()
        waited = _inserted_or_waiting_for_a_lock(inserted, observer, pid)
        first.commit()
        thread.join(timeout=10)
        assert inserted.is_set()
        # A writer waits for another only when both transactions fall on the same slot, and then only until the
        # other commits.
        assert waited == (slot_of(second) == first_slot)
        second.commit()

    assert kept(tenant) == {("EXPORT", "in_progress"): 3}


def _inserted_or_waiting_for_a_lock(inserted: threading.Event, observer: psycopg.Connection, pid: int) -> bool:
    """Wait until the insert is done (False) or its backend waits for a lock (True)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if inserted.wait(timeout=0.02):
            return False
        row = observer.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
        observer.rollback()  # a fresh snapshot of the statistics each time
        if row is not None and row[0] == "Lock":
            return True
    raise AssertionError("the insert neither finished nor waited for a lock")


def test_a_rolled_back_transaction_beside_a_committed_one_counts_nothing(tenant: Tenant) -> None:
    with session() as rolled_back, session() as committed:
        rolled_back.execute(INSERT, [tenant.pk, "never"])
        committed.execute(INSERT, [tenant.pk, "kept"])
        committed.commit()
        rolled_back.rollback()

    assert kept(tenant) == {("EXPORT", "in_progress"): 1}


def test_many_writers_inserting_and_finishing_at_once_keep_the_counts_exact(tenant: Tenant) -> None:
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            with session() as conn:
                for n in range(20):
                    conn.execute(INSERT, [tenant.pk, f"{name}-{n}"])
                    if n % 2:
                        conn.execute(FINISH, [tenant.pk, f"{name}-{n - 1}"])
                    conn.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert kept(tenant) == {("EXPORT", "in_progress"): 40, ("EXPORT", "success"): 40}
    assert_exact(tenant)


def test_truncating_the_jobs_clears_the_counts(tenant: Tenant) -> None:
    Job.objects.create(tenant=tenant, type=Job.Type.EXPORT)

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE jobs_job CASCADE")

    assert kept(tenant) == {}

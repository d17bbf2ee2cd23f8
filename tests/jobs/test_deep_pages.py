"""Deep pages of the job list: read in two steps past DEEP_OFFSET, from the end when they are nearer to it (the
kept counts say where it is), and not at all past it. Whatever the way, a page holds exactly what OFFSET finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core import listing
from apps.core.listing import ListParams, SortKey, filter_from_q, ordering
from apps.jobs import selectors
from apps.jobs.fields import SEARCHABLE, SORTABLE
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.jobs.conftest import LIST

BASE = datetime(2026, 1, 1, tzinfo=UTC)
SHALLOW = 3  # DEEP_OFFSET in these tests, so that small tables have deep pages

_JOBS = st.lists(
    st.tuples(
        st.integers(0, 4),  # minutes after BASE: many jobs share a creation time, so ties need the job_id
        st.sampled_from(Job.Status.values),
        st.sampled_from(Job.Type.values),
        st.one_of(st.none(), st.sampled_from(Job.AgentType.values)),
    ),
    max_size=25,
)
_SORTS = st.sampled_from(
    [(), (SortKey("metadata.createdAt", False),), (SortKey("status", False),), (SortKey("agentType", True),)]
)
# Filters the kept counts answer (so deep pages know where the end is), and two they do not.
_QS = st.sampled_from([None, "status:failure", "type:(EXPORT,IMPORT) status:(success,failure)", "agentId:missing"])

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def shallow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "DEEP_OFFSET", SHALLOW)
    monkeypatch.setattr(selectors, "DEEP_OFFSET", SHALLOW)


def add_jobs(tenant: Tenant, jobs: list[tuple[int, str, str, str | None]]) -> None:
    Job.objects.bulk_create(
        Job(
            tenant=tenant,
            # Ids out of creation order, so that the order by id alone differs from the order by time.
            job_id=f"j{(n * 7919) % 10007:05d}",  # 10007 is prime: unique below it
            created_at=BASE + timedelta(minutes=minute),
            status=status,
            type=job_type,
            agent_type=agent_type,
        )
        for n, (minute, status, job_type, agent_type) in enumerate(jobs)
    )


def by_offset(tenant: Tenant, q: str | None, sort: tuple[SortKey, ...], start: int, stop: int) -> list[str]:
    order = ordering(sort, default=selectors.DEFAULT_SORT, sortable=SORTABLE, tiebreak=selectors.TIEBREAK)
    jobs = Job.objects.filter(tenant=tenant).filter(filter_from_q(q, SEARCHABLE)).order_by(*order)
    return list(jobs.values_list("job_id", flat=True)[start:stop])


@FUZZ
@given(jobs=_JOBS, sort=_SORTS, q=_QS, page_size=st.integers(1, 6), page_number=st.integers(1, 12))
def test_every_page_holds_what_offset_finds(tenant, other_tenant, shallow, jobs, sort, q, page_size, page_number):
    params = ListParams(page_size=page_size, page_number=page_number, sort=sort, fields=None, want_total=False)
    with transaction.atomic():
        add_jobs(tenant, jobs)
        add_jobs(other_tenant, jobs[:5])  # another tenant's jobs, counted apart, are never on the page

        page = selectors.job_list(tenant_id=tenant.pk, filters=filter_from_q(q, SEARCHABLE), params=params)

        assert [row["job_id"] for row in page] == by_offset(tenant, q, sort, params.offset, params.offset + page_size)
        transaction.set_rollback(True)


def test_a_page_past_the_end_of_a_counted_list_reads_no_job(tenant, shallow, query_jobs):
    add_jobs(tenant, [(n, "success", "EXPORT", None) for n in range(5)])

    with CaptureQueriesContext(connection) as queries:
        response = query_jobs("status:success", pageSize="2", pageNumber="1000000")

    assert (response.status_code, response.body) == (200, [])
    assert not [
        q["sql"] for q in queries.captured_queries if '"jobs_job"' in q["sql"] and "jobs_jobcount" not in q["sql"]
    ]


def test_a_page_near_the_end_is_read_from_the_end(tenant, shallow, query_jobs):
    add_jobs(tenant, [(n, "success", "EXPORT", None) for n in range(10)])
    expected = by_offset(tenant, None, (), 6, 9)

    with CaptureQueriesContext(connection) as queries:
        response = query_jobs(pageSize="3", pageNumber="3")

    assert [job["id"] for job in response.body] == expected
    # Read in the opposite order (oldest first) from one row past the end: OFFSET 1 rather than OFFSET 6.
    (keys,) = [q["sql"] for q in queries.captured_queries if "OFFSET" in q["sql"]]
    assert "ASC" in keys and "DESC" not in keys and "OFFSET 1" in keys


def rows_of(response: Any) -> list[str]:
    assert response.status_code == 200, response.body
    return [job["id"] for job in response.body]


def test_deep_pages_through_the_api_match_offset_at_the_real_depth(tenant, manager):
    # At the real DEEP_OFFSET: 1,300 jobs, pages of 100.
    add_jobs(tenant, [(n % 5, "success" if n % 3 else "failure", "EXPORT", None) for n in range(1300)])

    for number in (1, 10, 11, 12, 13, 14):
        response = manager.get(LIST, {"pageSize": "100", "pageNumber": str(number)})
        assert rows_of(response) == by_offset(tenant, None, (), (number - 1) * 100, number * 100), number


def test_the_keys_of_a_deep_page_are_read_without_joins_so_the_index_alone_can_answer(tenant, shallow, query_jobs):
    add_jobs(tenant, [(n, "success", "EXPORT", None) for n in range(10)])

    with CaptureQueriesContext(connection) as queries:
        response = query_jobs("message:exists", pageSize="2", pageNumber="3")  # no kept count: from the start

    assert len(response.body) == 0  # none has a message; the page is still read in two steps, in one statement
    (page,) = [q["sql"] for q in queries.captured_queries if "OFFSET" in q["sql"]]
    # The keys' walk, a subquery: the job ids alone, with no join.
    keys = page.split(' IN (SELECT U0."job_id" AS "job_id" FROM "jobs_job" U0 WHERE ', 1)[1].split("OFFSET", 1)[0]
    assert "JOIN" not in keys and "U1" not in keys

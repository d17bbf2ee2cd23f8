"""The job list's filter as a django-filter FilterSet: what it narrows a tenant's jobs to, and what it refuses.
(The pages that use it are tested in test_list.py and test_delete.py.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
import pytest

from apps.console.jobs import selectors
from apps.console.jobs.forms import JobFilter
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.console.jobs.helpers import make


@pytest.fixture
def jobs(tenant: Tenant, other_tenant: Tenant) -> None:
    day = datetime(2025, 3, 3, 23, 59, tzinfo=UTC)
    make(tenant, job_id="late-fail", status=Job.Status.FAILURE, message="Timeout at 100%", created_at=day)
    make(tenant, job_id="next-ok", status=Job.Status.SUCCESS, message="Done", created_at=day.replace(day=4))
    make(other_tenant, job_id="globex-fail", status=Job.Status.FAILURE, message="Timeout", created_at=day)


def matching(tenant: Tenant, data: dict[str, Any]) -> list[str]:
    job_filter = JobFilter(data)
    assert job_filter.is_valid(), job_filter.form.errors
    found = selectors.job_matching(tenant=tenant, filters=None, narrow=job_filter.narrow)
    return sorted(found.values_list("job_id", flat=True))


@pytest.mark.parametrize(
    "data, expected",
    [
        ({}, ["late-fail", "next-ok"]),  # no criterion: every job of the tenant, and only of it
        ({"status": "failure"}, ["late-fail"]),
        ({"created_to": "2025-03-03"}, ["late-fail"]),  # the whole of the last day
        ({"created_from": "2025-03-04", "created_to": "9999-12-31"}, ["next-ok"]),
        ({"q": "100%"}, ["late-fail"]),  # % is matched literally
        ({"q": "timeout", "sort": "oldest"}, ["late-fail"]),
    ],
)
def test_the_filter_narrows_the_tenants_jobs(jobs: None, tenant: Tenant, data: dict[str, Any], expected: list[str]):
    assert matching(tenant, data) == expected


@pytest.mark.parametrize(
    "data, field",
    [
        ({"status": "lost"}, "status"),
        ({"created_from": "2025-03-05", "created_to": "2025-03-04"}, "created_to"),
        ({"agent": "a" * 300}, "agent"),
        ({"sort": "random"}, "sort"),
    ],
)
def test_the_filter_refuses_what_it_cannot_mean(data: dict[str, Any], field: str):
    job_filter = JobFilter(data)

    assert not job_filter.is_valid()
    assert field in job_filter.form.errors


def test_it_is_a_django_filter_filterset_whose_criteria_round_trip():
    job_filter = JobFilter({"type": "EXPORT", "created_from": "2025-03-01", "q": " x ", "sort": "oldest"})

    assert isinstance(job_filter, django_filters.FilterSet)
    assert job_filter.is_valid() and not job_filter.newest_first
    assert job_filter.criteria() == {"type": "EXPORT", "created_from": "2025-03-01", "q": "x"}
    assert job_filter.described() == [("Type", "EXPORT"), ("Created from", "2025-03-01"), ("Message contains", "x")]

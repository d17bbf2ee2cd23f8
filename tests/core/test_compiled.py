"""A query compiled once answers as the ORM's queryset does, whatever values it runs with."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.compiled import CompiledQuery
from apps.jobs.models import Job
from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db

COLUMNS = ("job_id", "status", "import_result", "created_at", "version")


def _build(tenant_id: int, job_id: str) -> Any:
    return Job.objects.filter(tenant_id=tenant_id, job_id=job_id).values(*COLUMNS)[:1]


def test_it_answers_as_the_queryset_for_each_set_of_values(
    tenant: Tenant, other_tenant: Tenant, make_job: Callable[..., Job]
) -> None:
    made = [
        make_job(job_id="j1", import_result={"summary": {"agents": [{"id": "a", "state": "FAILED"}]}}),
        make_job(job_id="j2", status=Job.Status.FAILURE),
        make_job(job_id="j1", tenant=other_tenant, message="same id, another tenant"),
    ]
    query = CompiledQuery(_build, tenant_id=-1, job_id="example")

    for job in made:
        row = query.first(tenant_id=job.tenant_id, job_id=job.job_id)

        assert row is not None and [row] == list(_build(job.tenant_id, job.job_id))
        assert isinstance(row["import_result"], dict | type(None))  # JSON converted, as the ORM does
        assert isinstance(row["created_at"], datetime) and row["created_at"].tzinfo is not None
    assert query.first(tenant_id=tenant.pk, job_id="missing") is None


def test_it_compiles_once_and_then_runs_one_statement_per_call(tenant: Tenant, make_job: Callable[..., Job]) -> None:
    make_job(job_id="j1")
    query = CompiledQuery(_build, tenant_id=-1, job_id="example")
    query.first(tenant_id=tenant.pk, job_id="j1")

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            query.first(tenant_id=tenant.pk, job_id="j1")

    assert len(queries) == 3
    assert len({q["sql"].replace("j1", "?") for q in queries}) == 1


def test_an_example_that_is_not_a_parameter_of_the_query_is_refused(tenant: Tenant) -> None:
    query = CompiledQuery(
        lambda tenant_id, job_id: Job.objects.filter(tenant_id=tenant_id).values("job_id"),
        tenant_id=-1,
        job_id="example",
    )

    with pytest.raises(ValueError, match="each example must appear once"):
        query.first(tenant_id=tenant.pk, job_id="j1")

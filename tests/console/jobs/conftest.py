"""The job page tests' fixtures: a failed export, a successful one, another tenant's job, and mixes of jobs for the
dashboard and the list."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.agents.bundle import bundle_encode
from apps.core.timefmt import now_ms
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.console.jobs.helpers import (
    EXPORT_DOC,
    make,
)


@pytest.fixture
def failed_export(tenant: Tenant) -> Job:
    return make(
        tenant,
        job_id="exp/ort-1",  # ids are opaque: a "/" must not break any path
        type=Job.Type.EXPORT,
        status=Job.Status.FAILURE,
        payload={"agentIds": ["support"]},
        message="The export failed because of an internal error",
        attempts=1,
        finished_at=now_ms(),
    )


@pytest.fixture
def exported(tenant: Tenant) -> Job:
    data, checksum = bundle_encode(EXPORT_DOC)
    return make(
        tenant,
        job_id="export-ok",
        type=Job.Type.EXPORT,
        status=Job.Status.SUCCESS,
        export_result={"data": data, "checksum": checksum},
        finished_at=now_ms(),
    )


@pytest.fixture
def foreign_job(other_tenant: Tenant) -> Job:
    data, checksum = bundle_encode(EXPORT_DOC)
    return make(
        other_tenant,
        job_id="globex-export",
        type=Job.Type.EXPORT,
        status=Job.Status.FAILURE,
        payload={"agentIds": ["a"]},
        export_result={"data": data, "checksum": checksum},
    )


@pytest.fixture
def mix(tenant: Tenant, other_tenant: Tenant) -> None:
    start = now_ms() - timedelta(hours=1)
    for i, (job_type, status) in enumerate(
        [
            (Job.Type.AGENT_CHAT, Job.Status.SUCCESS),
            (Job.Type.AGENT_CHAT, Job.Status.SUCCESS),
            (Job.Type.AGENT_CHAT, Job.Status.FAILURE),
            (Job.Type.EXPORT, Job.Status.IN_PROGRESS),
            (Job.Type.IMPORT, Job.Status.FAILURE),
        ]
    ):
        message = f"{job_type} number {i} broke" if status == Job.Status.FAILURE else None
        make(
            tenant,
            job_id=f"j{i}",
            type=job_type,
            status=status,
            message=message,
            created_at=start + timedelta(minutes=i),
        )
    make(other_tenant, job_id="g1", type=Job.Type.EXPORT, status=Job.Status.FAILURE, message="globex broke")


@pytest.fixture
def catalogue(tenant: Tenant, other_tenant: Tenant) -> dict[str, Job]:
    day = now_ms().replace(year=2026, month=3, day=10, hour=12, minute=0, second=0, microsecond=0)
    jobs = {
        "chat-ok": make(
            tenant,
            job_id="chat-ok",
            agent_type="support",
            agent_id="a1",
            status="success",
            message="Answered about ORDER 17",
            created_at=day - timedelta(days=2),
        ),
        "chat-bad": make(
            tenant,
            job_id="chat-bad",
            agent_type="complaint",
            agent_id="a2",
            status="failure",
            message="Could not reach the commerce API: timeout",
            created_at=day - timedelta(days=1),
        ),
        "export-bad": make(
            tenant,
            job_id="export-bad",
            type="EXPORT",
            status="failure",
            message="The export failed: order gone",
            created_at=day,
        ),
        "import-run": make(
            tenant, job_id="import-run", type="IMPORT", status="in_progress", created_at=day + timedelta(days=1)
        ),
        "chat-a1": make(
            tenant,
            job_id="chat-a1",
            agent_type="generic",
            agent_id="a1",
            status="success",
            message="100% done_right",
            created_at=day + timedelta(days=2),
        ),
    }
    make(other_tenant, job_id="globex-chat", agent_id="a1", status="failure", message="order", created_at=day)
    return jobs

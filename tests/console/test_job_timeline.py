"""The job page's timeline ends with when the job finished: the worker's note of it, or, for a job loaded from a
saved history (no bookkeeping), its last change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.core.timefmt import now_ms
from apps.jobs.models import Job

pytestmark = pytest.mark.django_db

BASE = "/console/acme"


def timeline(client, job: Job) -> str:
    page = client.get(f"{BASE}/jobs/{job.job_id}/").content.decode()
    return page.split('<ol class="timeline">')[1].split("</ol>")[0]


def test_a_loaded_job_without_bookkeeping_is_shown_finished_at_its_last_change(manager_client, tenant):
    at = now_ms() - timedelta(days=3)
    job = Job.objects.create(tenant=tenant, job_id="loaded", type=Job.Type.EXPORT, status=Job.Status.SUCCESS)
    Job.objects.filter(pk=job.pk).update(created_at=at, modified_at=at + timedelta(seconds=42))

    shown = timeline(manager_client, job)

    assert "Finished: success" in shown
    assert f"{at + timedelta(seconds=42):%Y-%m-%d %H:%M:%S}" in shown
    assert "Running" not in shown and "Waiting" not in shown


def test_a_job_the_worker_finished_is_shown_finished_when_the_worker_said(manager_client, tenant):
    at = now_ms() - timedelta(days=1)
    job = Job.objects.create(tenant=tenant, job_id="ran", type=Job.Type.IMPORT, status=Job.Status.FAILURE)
    Job.objects.filter(pk=job.pk).update(
        created_at=at, finished_at=at + timedelta(seconds=7), modified_at=at + timedelta(hours=5)
    )

    shown = timeline(manager_client, job)

    assert "Finished: failure" in shown
    assert f"{at + timedelta(seconds=7):%Y-%m-%d %H:%M:%S}" in shown
    assert f"{at + timedelta(hours=5):%Y-%m-%d %H:%M:%S}" not in shown


def test_a_job_in_progress_is_not_shown_finished(manager_client, tenant):
    job = Job.objects.create(tenant=tenant, job_id="busy", type=Job.Type.EXPORT)

    shown = timeline(manager_client, job)

    assert "Finished" not in shown

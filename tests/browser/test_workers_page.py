"""The workers page in a real browser, with a real worker running: what a platform admin sees, and the README's
screenshot of it (docs/screenshots/workers.png, written with SCREENSHOTS=1)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.jobs.models import Job
from apps.ops import workers
from apps.tenants.models import Tenant
from tests.browser.conftest import signed_in
from tests.worker import WorkerProcess, wait_for

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HOSTNAME = "celery@console-worker-1"
# Per type: (finished in the last hour, of which failed).
FINISHED = {Job.Type.AGENT_CHAT: (42, 3), Job.Type.EXPORT: (12, 1), Job.Type.IMPORT: (5, 0)}


@pytest.fixture
def last_hour(tenant: Tenant) -> None:
    """Jobs finished over the last hour, and two that have waited a few minutes for a worker."""
    now = timezone.now()
    for job_type, (finished, failed) in FINISHED.items():
        for n in range(finished):
            at = now - timedelta(minutes=(n * 7) % 58 + 1)
            status = Job.Status.FAILURE if n < failed else Job.Status.SUCCESS
            Job.objects.create(
                tenant=tenant, type=job_type, status=status, created_at=at - timedelta(seconds=4), finished_at=at
            )
    for minutes in (4, 2):
        job = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, status=Job.Status.IN_PROGRESS)
        Job.objects.filter(pk=job.pk).update(created_at=now - timedelta(minutes=minutes, seconds=12))


@pytest.fixture
def running_worker() -> Iterator[WorkerProcess]:
    worker = WorkerProcess(heartbeat=True, hostname=HOSTNAME)
    try:
        worker.wait_ready()
        wait_for(lambda: cache.get(workers.HEARTBEAT_KEY + HOSTNAME), what="the worker's first heartbeat")
        yield worker
    finally:
        worker.stop()


@pytest.mark.screenshots
def test_a_platform_admin_sees_the_running_worker_the_queues_and_the_last_hour(
    page: Page, make_user: Any, last_hour: None, running_worker: WorkerProcess, tmp_path: Path
) -> None:
    folder = SCREENSHOTS if os.environ.get("SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    signed_in(page, make_user("ada-admin", superuser=True))

    page.get_by_role("link", name="Workers").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Workers")
    row = page.locator("table.workers tbody tr").filter(has_text=HOSTNAME)
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text(["agents", "celery"])
    expect(row.locator("td.heartbeat")).to_have_text(re.compile(r"^\d+ s ago$"))
    expect(page.locator(".card").filter(has_text="Jobs waiting for a worker").locator(".n")).to_have_text("2")
    throughput = page.locator("table.throughput tbody tr")
    expect(throughput).to_have_count(3)
    expect(throughput.filter(has_text="AGENT_CHAT").locator("td")).to_have_text(["42", "0.70", "3", "7 %"])
    expect(page.locator("#missing-workers")).to_have_count(0)

    page.mouse.move(0, 0)
    page.screenshot(path=folder / "workers.png", animations="disabled", caret="hide")
    assert (folder / "workers.png").stat().st_size > 10_000

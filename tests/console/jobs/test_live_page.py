"""A job's page follows the job: the status endpoint's revision of a job changes with everything its page shows,
and the page carries the revision it was drawn at, so live.js knows when to draw it again."""

from __future__ import annotations

import re

from django.test import Client
from django.test.html import Element, parse_html

from apps.core.timefmt import now_ms
from apps.jobs import services as job_services
from apps.jobs.models import Job
from tests.console.jobs.helpers import BASE

STATUS = f"{BASE}/jobs/status.json"


def revision_on_page(client: Client, job: Job) -> str:
    page = client.get(f"{BASE}/jobs/{job.job_id}/").content.decode()
    found = re.search(rf'<div data-job-id="{job.job_id}" data-status="\w+" data-revision="([^"]+)">', page)
    assert found, "the job's element carries no revision"
    return found.group(1)


def revision_answered(client: Client, job: Job) -> str:
    revision: str = client.get(STATUS, {"id": job.job_id}).json()["jobs"][job.job_id]["revision"]
    return revision


def test_the_page_and_the_status_endpoint_agree_on_the_revision(
    manager_client: Client, catalogue: dict[str, Job]
) -> None:
    job = catalogue["import-run"]

    assert revision_on_page(manager_client, job) == revision_answered(manager_client, job)


def test_the_revision_changes_when_a_worker_starts_the_job_although_its_status_does_not(
    manager_client: Client, catalogue: dict[str, Job]
) -> None:
    job = catalogue["import-run"]
    waiting = revision_answered(manager_client, job)

    Job.objects.filter(pk=job.pk).update(dispatched_at=now_ms())
    dispatched = revision_answered(manager_client, job)
    Job.objects.filter(pk=job.pk).update(started_at=now_ms(), attempts=1)
    started = revision_answered(manager_client, job)
    job_services.job_finish(job_pk=job.pk, status=Job.Status.SUCCESS, message="Imported")
    finished = revision_answered(manager_client, job)

    assert len({waiting, dispatched, started, finished}) == 4
    assert revision_on_page(manager_client, job) == finished


def test_the_same_job_answers_the_same_revision(manager_client: Client, catalogue: dict[str, Job]) -> None:
    job = catalogue["import-run"]

    assert revision_answered(manager_client, job) == revision_answered(manager_client, job)


def followed_element(element: Element | str) -> Element | None:
    if isinstance(element, str):
        return None
    if any(name == "data-revision" for name, _ in element.attributes):
        return element
    return next((found for child in element.children if (found := followed_element(child))), None)


def test_the_page_keeps_every_part_that_depends_on_the_state_inside_the_followed_element(
    manager_client: Client, catalogue: dict[str, Job]
) -> None:
    job = catalogue["import-run"]
    page = manager_client.get(f"{BASE}/jobs/{job.job_id}/").content.decode()

    followed = followed_element(parse_html(page))

    assert followed is not None
    inside = str(followed)
    for part in ('class="actions"', 'class="fields"', "Timeline", "Waiting for a worker", 'data-cell="message"'):
        assert part in inside
    assert 'src="/static/console/live.js"' in page


def test_drawing_the_open_page_again_leaves_the_users_messages_for_the_next_page(
    manager_client: Client, catalogue: dict[str, Job]
) -> None:
    job = catalogue["export-bad"]
    retried = manager_client.post(f"{BASE}/jobs/{job.job_id}/retry")  # leaves a message for the page that follows
    assert retried.status_code == 302

    refreshed = manager_client.get(f"{BASE}/jobs/{job.job_id}/", HTTP_X_LIVE_REFRESH="1").content.decode()
    opened = manager_client.get(f"{BASE}/jobs/{job.job_id}/").content.decode()

    assert 'class="messages"' not in refreshed
    assert 'class="messages"' in opened

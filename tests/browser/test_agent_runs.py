"""Agent runs in a real browser: a manager types a message in an agent's Try it panel and watches the run's
answer and transcript arrive without reloading; the job page of a run follows its transcript the same way, and
cancels it. Nothing here runs a model: either the test writes what a worker would, or a real worker runs a
stand-in runner."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import AbstractBaseUser
from playwright.sync_api import ConsoleMessage, Page, expect

from apps.agentic.models import Severity
from apps.agentic.services import log_write
from apps.agents.models import Kind
from apps.jobs import runners, tasks
from apps.jobs.models import Job
from apps.jobs.services import job_fail, job_finish
from apps.tenants.models import Tenant
from tests.agents.conftest import create
from tests.browser.conftest import signed_in
from tests.console.agentic.conftest import ANSWER, TRANSCRIPT, helper_body, write_lines
from tests.worker import thread_worker, wait_for

AGENT_PAGE = "/console/acme/agents/helper/"
QUESTION = "Where is my order 10482?"


@pytest.fixture
def helper(tenant: Tenant) -> None:
    create(tenant, Kind.AGENT, "helper", helper_body())


@pytest.fixture
def no_broker() -> Iterator[mock.Mock]:
    """The run is handed to no worker: the test does what the worker would."""
    with mock.patch.object(tasks.job_run, "apply_async") as send:
        yield send


@pytest.fixture
def refused(page: Page) -> list[str]:
    """What the browser refused because of the Content-Security-Policy."""
    found: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", record)
    return found


def panel(page: Page) -> Any:
    return page.locator("#try-it")


def transcript(page: Page) -> Any:
    return page.locator("table.transcript tbody tr")


def send(page: Page, message: str) -> Job:
    page.goto(AGENT_PAGE)
    panel(page).get_by_label("Message").fill(message)
    panel(page).get_by_role("button", name="Send").click()
    expect(page).to_have_url(re.compile(r"/agents/helper/\?run=[0-9a-f]{24}#try-it$"))
    return Job.objects.get(type=Job.Type.AGENT_CHAT)


def test_a_message_sent_from_try_it_shows_the_transcript_and_the_answer_as_the_run_goes(
    page: Page, manager_user: AbstractBaseUser, helper: None, no_broker: mock.Mock, refused: list[str]
) -> None:
    signed_in(page, manager_user)
    job = send(page, QUESTION)

    run = panel(page).locator(f'[data-job-id="{job.job_id}"]')
    expect(run.locator('[data-cell="status"]')).to_have_text("in_progress")
    expect(run.get_by_text("Waiting for the agent…")).to_be_visible()
    expect(transcript(page)).to_have_count(1)
    expect(transcript(page).first).to_contain_text(f"Agent receive request: {QUESTION}")

    write_lines(job, *TRANSCRIPT[:2])  # the worker starts: the model asks for a tool
    expect(transcript(page)).to_have_count(3)
    expect(transcript(page).nth(2)).to_contain_text("Tool called")
    expect(run.locator('[data-cell="status"]')).to_have_text("in_progress")

    write_lines(job, *TRANSCRIPT[2:])
    usage = {"inputTokens": 1234, "outputTokens": 56, "requests": 2, "toolCalls": 1, "model": "gpt-4.1-mini"}
    Job.objects.filter(pk=job.pk).update(usage=usage)
    job_finish(job_pk=job.pk, status=Job.Status.SUCCESS, message=ANSWER)

    expect(run.locator('[data-cell="message"]')).to_have_text(ANSWER)
    expect(run.locator('[data-cell="status"]')).to_have_text("success")
    expect(transcript(page)).to_have_count(1 + len(TRANSCRIPT))
    expect(transcript(page).nth(3).locator(".badge")).to_have_text("WARNING")
    expect(run.locator('[data-usage="inputTokens"]')).to_have_text("1,234")
    expect(run.get_by_text("Waiting for the agent…")).to_be_hidden()
    # The next message continues the same conversation.
    expect(panel(page).get_by_label("Session id")).to_have_value(str(job.session_id))
    assert refused == []


def failing_runner(job: Job) -> None:
    """What a worker does with the run here: it asks the model, which fails."""
    log_write(
        tenant=job.tenant,
        session_id=str(job.session_id),
        request_id=str(job.request_id),
        agent_id=str(job.agent_id),
        message="LLM started (run #1) for agent: 'helper' with prompts: ['Where is my order 10482?']",
    )
    log_write(
        tenant=job.tenant,
        session_id=str(job.session_id),
        request_id=str(job.request_id),
        agent_id=str(job.agent_id),
        message="The model endpoint answered 503 Service Unavailable",
        severity=Severity.ERROR,
    )
    job_fail(job_pk=job.pk, message="The model endpoint answered 503 Service Unavailable")


def test_a_run_a_real_worker_fails_shows_why_on_the_try_it_panel(
    page: Page, manager_user: AbstractBaseUser, helper: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(runners._RUNNERS, Job.Type.AGENT_CHAT, failing_runner)
    signed_in(page, manager_user)

    with thread_worker():
        job = send(page, QUESTION)
        run = panel(page).locator(f'[data-job-id="{job.job_id}"]')

        expect(run.locator('[data-cell="status"]')).to_have_text("failure")
        expect(run.locator('[data-cell="message"]')).to_have_text("The model endpoint answered 503 Service Unavailable")
        expect(transcript(page)).to_have_count(3)
        expect(transcript(page).last.locator(".badge")).to_have_text("ERROR")
    job.refresh_from_db()
    assert job.status == Job.Status.FAILURE and job.attempts == 1


def test_the_job_page_of_a_run_follows_its_transcript_and_a_manager_cancels_it(
    page: Page, manager_user: AbstractBaseUser, helper: None, no_broker: mock.Mock
) -> None:
    signed_in(page, manager_user)
    job = send(page, QUESTION)
    panel(page).get_by_role("link", name=job.job_id).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"AGENT_CHAT job {job.job_id}")
    expect(transcript(page)).to_have_count(1)

    write_lines(job, *TRANSCRIPT[:2])
    expect(transcript(page)).to_have_count(3)
    expect(page.locator("table.tool-calls")).to_have_count(0)  # drawn with the page, not followed live
    page.get_by_role("button", name="Cancel this run").click()

    expect(page.locator("ul.messages")).to_have_text(f"Cancelled job {job.job_id}.")
    expect(page.locator("dd[data-cell='message']")).to_have_text("Cancelled by mia-manager.")
    expect(page.get_by_role("button", name="Rerun this agent run")).to_be_visible()
    wait_for(lambda: Job.objects.get(pk=job.pk).status == Job.Status.FAILURE, what="the cancelled job")

"""POST /agentic/chat waits for the run a real worker does, and DELETE of a running agent run. The runtime is
another part's: here the AGENT_CHAT runner is replaced by scripted ones."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from apps.jobs import runners, services
from apps.jobs.models import Job
from tests.worker import thread_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CHAT = "/ai-service/acme/agentic/chat"
RELEASE = threading.Event()


@pytest.fixture(scope="module")
def worker(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    # One worker for the module: starting and stopping one per test costs seconds each time.
    with django_db_blocker.unblock(), thread_worker():
        yield


@pytest.fixture(autouse=True)
def _released() -> Iterator[None]:
    RELEASE.clear()
    yield
    RELEASE.set()  # a run still held by a failed test lets the worker go


def answers(job: Job) -> None:
    services.job_finish(job_pk=job.pk, status=Job.Status.SUCCESS, message=f"You asked: {job.payload['message']}")


def fails(job: Job) -> None:
    services.job_fail(job_pk=job.pk, message="The model provider refused the key (401).")


def waits_for_release(job: Job) -> None:
    RELEASE.wait(20)
    answers(job)


def is_cancelled(job: Job) -> None:
    services.job_delete(job=job)  # as DELETE /jobs/{id} from another client does meanwhile


@pytest.fixture
def run_with(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(runner: runners.Runner) -> None:
        monkeypatch.setitem(runners._RUNNERS, Job.Type.AGENT_CHAT, runner)

    return use


def chat(client: Any, message: str = "Where is my order?", **headers: str) -> Any:
    body = {"agentId": "support-agent", "message": message}
    return client.post(CHAT, body, content_type="application/json", **headers)


def test_chat_answers_200_with_the_agents_reply(worker, runner, agent, run_with):
    run_with(answers)
    response = chat(runner, "Where is order 7?", HTTP_SESSION_ID="9b2f3c1e-5d4a-4e8f-9b1c-2a7d6e0f4c3b")
    assert response.status_code == 200, response.body
    assert response.body == [
        {
            "agentId": "support-agent",
            "agentType": "support",
            "sessionId": "9b2f3c1e-5d4a-4e8f-9b1c-2a7d6e0f4c3b",
            "message": "You asked: Where is order 7?",
        }
    ]
    job = Job.objects.get()
    assert job.status == Job.Status.SUCCESS and job.attempts == 1


def test_a_failed_run_answers_500_with_the_reason_and_the_job(worker, runner, agent, run_with):
    run_with(fails)
    response = chat(runner)
    assert response.status_code == 500
    assert response.body["message"] == "The model provider refused the key (401)."
    job = Job.objects.get()
    assert response.body["details"] == [{"field": "jobId", "type": "job", "message": job.job_id}]


def test_a_run_outlasting_the_wait_answers_202_with_the_job_to_poll(worker, runner, agent, run_with, settings):
    settings.AGENT_CHAT_WAIT_SECONDS = 0.5
    run_with(waits_for_release)
    response = chat(runner)
    assert response.status_code == 202, response.body
    job = Job.objects.get()
    assert response.body["jobId"] == job.job_id
    assert job.job_id in response.body["message"] and "poll" in response.body["message"]
    assert response["Location"] == f"/ai-service/acme/jobs/{job.job_id}"
    RELEASE.set()
    wait_for(lambda: Job.objects.get().status == Job.Status.SUCCESS, timeout=20, what="the run to end")
    polled = runner.get(response["Location"]).body
    assert polled["message"] == "You asked: Where is my order?"


def test_with_no_wait_configured_chat_answers_202_at_once(worker, runner, agent, run_with, settings):
    settings.AGENT_CHAT_WAIT_SECONDS = 0
    run_with(answers)
    response = chat(runner)
    assert response.status_code == 202
    wait_for(lambda: Job.objects.get().status == Job.Status.SUCCESS, timeout=20, what="the run to end")


def test_a_run_whose_job_is_deleted_meanwhile_answers_409(worker, runner, agent, run_with):
    run_with(is_cancelled)
    response = chat(runner)
    assert response.status_code == 409
    assert "cancelled" in response.body["message"]
    assert not Job.objects.exists()


def test_two_chats_in_one_session_are_two_requests_of_that_session(worker, runner, agent, run_with):
    run_with(answers)
    session = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"
    first = chat(runner, "one", HTTP_SESSION_ID=session)
    second = chat(runner, "two", HTTP_SESSION_ID=session)
    assert [first.body[0]["sessionId"], second.body[0]["sessionId"]] == [session, session]
    log = runner.get(f"/ai-service/acme/agentic/logs/sessions/{session}").body
    assert [m["message"] for m in log["messages"]] == ["Agent receive request: one", "Agent receive request: two"]
    assert len({m["requestId"] for m in log["messages"]}) == 2


def test_a_running_agent_run_can_be_deleted_through_the_jobs_api(worker, runner, agent, run_with):
    run_with(waits_for_release)
    async_url = "/ai-service/acme/agentic/chat-async"
    job_id = runner.post(async_url, {"agentId": "support-agent", "message": "hi"}, content_type="application/json")
    job_id = job_id.body["jobId"]
    wait_for(lambda: Job.objects.get().attempts == 1, timeout=20, what="the worker to start the run")
    assert runner.delete(f"/ai-service/acme/jobs/{job_id}").status_code == 204
    assert runner.get(f"/ai-service/acme/jobs/{job_id}").status_code == 404
    RELEASE.set()
    # The run's end finds its job gone and changes nothing.
    wait_for(lambda: not Job.objects.exists(), timeout=5, what="the job to stay deleted")

"""How runs end badly, through a real worker: each failure says why in the job's message and the transcript, and
closes the request log as an error; limits and timeouts stop the run; a cancel stops it with nothing more written."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import override_settings

from apps.agentic import runtime
from apps.agentic.demo_model import DemoModelServer, Reply, ScriptedBrain
from apps.agentic.models import AgentRequest, LogMessage
from apps.agents.models import Kind
from apps.core.timefmt import now_ms
from apps.jobs.models import Job
from apps.jobs.services import job_cancel, job_dispatch, job_finish
from tests.agentic.runtime.conftest import agent, finished, mcp_server, start
from tests.agents.conftest import create, rag_tool_body
from tests.worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def transcript(job: Job) -> list[str]:
    rows = LogMessage.objects.filter(request_id=job.request_id).order_by("timestamp", "id")
    return list(rows.values_list("message", flat=True))


def failed(job: Job) -> str:
    done = finished(job)
    assert done.status == Job.Status.FAILURE, done.message
    assert transcript(done)[-1] == f"Agent run failed: {done.message}"
    assert AgentRequest.objects.get(request_id=done.request_id).severity == "ERROR"
    return str(done.message)


def test_a_model_answering_with_an_http_error_fails_the_run_saying_so(worker, tenant, model):
    agent(tenant, "a", model.url)
    model.brain = ScriptedBrain(Reply(status=503, error="The model is overloaded."))

    message = failed(start(tenant, "a", "Hello"))

    assert message == "The model demo-1 (self_hosted_vllm) answered HTTP 503: The model is overloaded."
    assert len(model.requests) == 1  # not retried behind the run's back


@override_settings(AGENT_RUN_TIMEOUT_SECONDS=1.0)
def test_a_run_longer_than_the_run_timeout_is_stopped(worker, tenant, model):
    agent(tenant, "slow", model.url)
    model.brain = ScriptedBrain(Reply(text="late", delay=4))
    started = time.monotonic()

    message = failed(start(tenant, "slow", "Hello"))

    assert message == "The run took longer than 1 s (AGENT_RUN_TIMEOUT_SECONDS) and was stopped."
    assert time.monotonic() - started < 4


@override_settings(AGENT_MODEL_TIMEOUT_SECONDS=0.5)
def test_a_model_call_longer_than_the_model_timeout_fails_the_run(worker, tenant, model):
    agent(tenant, "slow", model.url)
    model.brain = ScriptedBrain(Reply(text="late", delay=3))

    message = failed(start(tenant, "slow", "Hello"))

    assert "did not answer within the time allowed (AGENT_MODEL_TIMEOUT_SECONDS)" in message


def test_max_recursion_limit_caps_the_model_requests_of_a_run(worker, tenant, model, mcp):
    mcp_server(tenant, "orders", mcp.url)
    agent(tenant, "loop", model.url, servers=("orders",), maxRecursionLimit=2)
    model.brain = ScriptedBrain(Reply(tool_calls=[("order_status", {"order_id": "1"})]))

    job = start(tenant, "loop", "Check forever")
    message = failed(job)

    assert message == "The run stopped at its limit of 2 model requests (maxRecursionLimit) before the agent answered."
    assert len(model.requests) == 2
    usage = Job.objects.get(pk=job.pk).usage
    assert usage is not None and usage["requests"] == 2 and usage["toolCalls"] == 2


def test_max_tokens_is_a_budget_for_the_whole_run(worker, tenant, model, mcp):
    mcp_server(tenant, "orders", mcp.url)
    llm = {
        "provider": "self_hosted_vllm",
        "model": "demo-1",
        "maxTokens": 250,
        "selfHostedParams": {"url": model.url},
    }
    agent(tenant, "budget", model.url, servers=("orders",), llm=llm)
    # Each request stays under the budget; the second one takes the run over it.
    model.brain = ScriptedBrain(
        Reply(tool_calls=[("order_status", {"order_id": "1"})], input_tokens=100, output_tokens=20),
        Reply(text="Done.", input_tokens=120, output_tokens=20),
    )

    message = failed(start(tenant, "budget", "Hello"))

    assert message == "The run stopped at its limit of 250 tokens (llmConfig.maxTokens) before the agent answered."


@override_settings(AGENT_TOOL_TIMEOUT_SECONDS=0.5)
def test_a_tool_call_longer_than_the_tool_timeout_fails_the_run(worker, tenant, model, mcp):
    mcp_server(tenant, "orders", mcp.url)
    agent(tenant, "a", model.url, servers=("orders",))
    model.brain = ScriptedBrain(Reply(tool_calls=[("order_status", {"order_id": "slow"})]), Reply(text="never"))
    mcp.recorder.delay = 3
    try:
        message = failed(start(tenant, "a", "Hello"))
    finally:
        mcp.recorder.delay = 0

    assert message == "The tool order_status did not answer within 0.5 s (AGENT_TOOL_TIMEOUT_SECONDS)."


def test_a_self_hosted_model_whose_token_comes_from_an_oauth_configuration_fails_naming_it(worker, tenant, model):
    params = {"url": model.url, "oauth": {"id": "corp-oauth"}}
    agent(tenant, "a", model.url, llm={"provider": "self_hosted_vllm", "model": "m", "selfHostedParams": params})

    message = failed(start(tenant, "a", "Hello"))

    assert message.startswith("The agent's self-hosted model gets its token through selfHostedParams.oauth")
    assert model.requests == []  # never called unauthenticated


@override_settings(PLATFORM_LLM_BASE_URL="", PLATFORM_LLM_API_KEY="")
def test_emporix_openai_without_the_platform_endpoint_fails_saying_which_setting_is_missing(worker, tenant, model):
    agent(tenant, "hosted", model.url, llm={"provider": "emporix_openai", "model": "gpt-4.1-mini"})

    message = failed(start(tenant, "hosted", "Hello"))

    assert "set PLATFORM_LLM_BASE_URL (and PLATFORM_LLM_API_KEY if it takes a key)" in message
    assert model.requests == []


def test_emporix_openai_uses_the_installations_own_endpoint_and_key(worker, tenant, model, settings):
    settings.PLATFORM_LLM_BASE_URL, settings.PLATFORM_LLM_API_KEY = model.url, "pk-platform-key"
    agent(tenant, "hosted", model.url, llm={"provider": "emporix_openai", "model": "gpt-4.1-mini"})
    model.brain = ScriptedBrain(Reply(text="Hi from the platform model."))

    job = finished(start(tenant, "hosted", "Hello"))

    assert job.message == "Hi from the platform model."
    assert model.headers[0]["authorization"] == "Bearer pk-platform-key"


def test_emporix_openai_may_use_an_endpoint_without_a_key(worker, tenant, settings):
    # As make run wires it: the demo model on loopback, no key.
    with DemoModelServer() as model:
        settings.PLATFORM_LLM_BASE_URL, settings.PLATFORM_LLM_API_KEY = model.url, ""
        agent(tenant, "hosted", model.url, llm={"provider": "emporix_openai", "model": "gpt-4.1-mini"})
        job = finished(start(tenant, "hosted", "Hello"))
    assert job.status == Job.Status.SUCCESS, job.message
    assert str(job.message).startswith('Demo answer: you said "Hello".')


def test_native_tools_and_hosted_mcp_servers_fail_the_run_naming_them(worker, tenant, model):
    create(tenant, Kind.TOKEN, "t1", {"name": "t1", "value": "x"})
    create(tenant, Kind.TOOL, "search", rag_tool_body("t1", name="Product search"))
    agent(
        tenant,
        "hosted-tools",
        model.url,
        nativeTools=[{"id": "search"}],
        mcpServers=[{"type": "predefined", "domain": "order", "tools": ["get-order"]}],
    )

    message = failed(start(tenant, "hosted-tools", "Hello"))

    assert "rag_custom tool 'Product search' (search)" in message
    assert "predefined MCP server of domain 'order'" in message
    assert model.requests == []


def test_deleting_a_running_job_stops_its_run_at_once_and_writes_nothing_more(worker, tenant, model):
    agent(tenant, "slow", model.url)
    model.brain = ScriptedBrain(Reply(text="too late", delay=3))
    job = start(tenant, "slow", "Hello")
    wait_for(lambda: model.requests, what="the model to be asked")
    before = transcript(job)

    Job.objects.filter(pk=job.pk).delete()
    time.sleep(4)  # past the model's answer: a run that went on would have written its lines by now

    assert transcript(job) == before
    assert before[-1].startswith("LLM started (run #1)")
    assert len(model.requests) == 1
    assert AgentRequest.objects.get(request_id=job.request_id).severity == "WARNING"


def test_a_cancelled_job_keeps_the_cancel_as_its_message_and_its_run_stops(worker, tenant, model):
    agent(tenant, "slow", model.url)
    model.brain = ScriptedBrain(Reply(text="too late", delay=3))
    job = start(tenant, "slow", "Hello")
    wait_for(lambda: model.requests, what="the model to be asked")

    assert job_cancel(job_pk=job.pk, by="ada@example.com")
    time.sleep(4)

    job.refresh_from_db()
    assert (job.status, job.message) == (Job.Status.FAILURE, "Cancelled by ada@example.com.")
    assert not any(line.startswith("LLM ended") for line in transcript(job))
    assert job_cancel(job_pk=job.pk, by="bob") is False  # a finished job is not cancelled again


@override_settings(AGENT_MAX_RUNNING_PER_TENANT=1)
def test_a_run_over_its_tenants_cap_waits_for_its_turn_and_then_runs(worker, tenant, model, make_job):
    agent(tenant, "a", model.url)
    model.brain = ScriptedBrain(Reply(text="My turn came."))
    # Another run of the tenant is going on (in another worker).
    busy = make_job(type=Job.Type.AGENT_CHAT, status=Job.Status.IN_PROGRESS, started_at=now_ms(), attempts=1)
    job = start(tenant, "a", "Hello")

    time.sleep(3)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.started_at) == (Job.Status.IN_PROGRESS, 0, None)
    assert model.requests == []

    job_finish(job_pk=busy.pk, status=Job.Status.SUCCESS)
    done = finished(job)
    assert (done.status, done.message, done.attempts) == (Job.Status.SUCCESS, "My turn came.", 1)


def test_a_run_whose_worker_died_after_a_tool_ran_is_not_repeated(worker, tenant, model):
    agent(tenant, "a", model.url)
    job = start(tenant, "a", "Refund my order")
    finished(job)
    # As a worker that died after the tool call leaves it: in progress, one attempt, a tool called.
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.IN_PROGRESS, attempts=1, tool_called_at=now_ms() - timedelta(seconds=5), message=None
    )
    asked = len(model.requests)

    job_dispatch(job_pk=job.pk, job_type=Job.Type.AGENT_CHAT)
    done = finished(job)

    assert done.status == Job.Status.FAILURE
    assert "after the agent had called a tool" in str(done.message)
    assert "Rerun" in str(done.message)
    assert len(model.requests) == asked


def test_a_job_deleted_during_a_tool_call_stops_at_the_next_step_without_asking_the_model_again(
    worker, tenant, model, mcp, monkeypatch
):
    monkeypatch.setattr(runtime, "POLL_SECONDS", 600.0)  # only the step itself notices
    mcp_server(tenant, "orders", mcp.url)
    agent(tenant, "a", model.url, servers=("orders",))
    model.brain = ScriptedBrain(Reply(tool_calls=[("order_status", {"order_id": "D-1"})]), Reply(text="never"))
    calls = len(mcp.recorder.calls)
    mcp.recorder.delay = 2
    try:
        job = start(tenant, "a", "Hello")
        wait_for(lambda: len(mcp.recorder.calls) > calls, what="the tool to be called")
        Job.objects.filter(pk=job.pk).delete()
        time.sleep(3)
    finally:
        mcp.recorder.delay = 0

    assert transcript(job)[-1] == "Tool order_status called by agent a"
    assert len(model.requests) == 1

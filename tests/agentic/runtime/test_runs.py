"""Agent runs end to end through a real worker: the model, MCP tools, memory, collaborators, the logs and usage."""

from __future__ import annotations

import json

import pytest

from apps.agentic.demo_model import Reply, ScriptedBrain
from apps.agentic.models import AgentRequest, AgentSession, LogMessage, SessionMemory
from apps.jobs.models import Job
from apps.jobs.services import job_retry
from tests.agentic.runtime.conftest import MCP_KEY, MODEL_KEY, agent, finished, mcp_server, start

pytestmark = pytest.mark.django_db(transaction=True)


def lines(job: Job) -> list[str]:
    return list(
        LogMessage.objects.filter(request_id=job.request_id)
        .order_by("timestamp", "id")
        .values_list("message", flat=True)
    )


def test_a_run_calls_an_mcp_tool_with_the_models_arguments_and_succeeds_with_the_final_answer(
    worker, tenant, model, mcp
):
    mcp_server(tenant, "orders", mcp.url)
    agent(tenant, "support", model.url, servers=("orders",))
    model.brain = ScriptedBrain(
        Reply(tool_calls=[("order_status", {"order_id": "A-17"})], input_tokens=120, output_tokens=12),
        Reply(text="Your order A-17 was shipped on 28 November.", input_tokens=150, output_tokens=9),
    )

    job = finished(start(tenant, "support", "Where is my order A-17?"))

    assert job.status == Job.Status.SUCCESS, job.message
    assert job.message == "Your order A-17 was shipped on 28 November."
    assert ("order_status", {"order_id": "A-17"}) in mcp.recorder.calls
    assert MCP_KEY in mcp.recorder.authorizations
    assert job.usage == {"inputTokens": 270, "outputTokens": 21, "requests": 2, "toolCalls": 1, "model": "demo-1"}
    assert job.tool_called_at is not None
    # The model got the tool's output and the header with the stored token, at {url}/chat/completions.
    assert "shipped on 2026-11-28" in json.dumps(model.requests[1]["messages"])
    assert model.headers[0]["x-model-key"] == MODEL_KEY
    transcript = lines(job)
    assert transcript[0] == "Agent receive request: Where is my order A-17?"
    assert transcript[1].startswith("LLM started (run #1) for agent: 'support' with prompts: [")
    assert transcript[2] == 'LLM ended (run #1) for agent: \'support\' with response: order_status({"order_id":"A-17"})'
    assert transcript[3] == "Tool order_status called by agent support"
    assert transcript[4].startswith("Tool ended (agent: support) with output: Order A-17 was shipped")
    assert transcript[5].startswith("LLM started (run #2) for agent: 'support'")
    assert transcript[6].startswith("LLM ended (run #2) for agent: 'support' with response: Your order A-17")
    assert transcript[7] == "Agent final response: Your order A-17 was shipped on 28 November."
    request = AgentRequest.objects.get(request_id=job.request_id)
    assert request.finished_at is not None and request.severity == "INFO"


def test_an_agent_with_memory_remembers_the_first_job_of_its_session_in_the_second(worker, tenant, model):
    agent(tenant, "memo", model.url, enabledMemory=True)
    model.brain = ScriptedBrain(Reply(text="Nice to meet you, Ada."), Reply(text="You are Ada."))

    first = finished(start(tenant, "memo", "My name is Ada.", session_id="s-1"))
    second = finished(start(tenant, "memo", "What is my name?", session_id="s-1"))

    assert (first.status, second.status) == (Job.Status.SUCCESS, Job.Status.SUCCESS)
    sent = json.dumps(model.requests[1]["messages"])
    assert "My name is Ada." in sent and "Nice to meet you, Ada." in sent
    assert SessionMemory.objects.filter(session_id="s-1", agent_id="memo").exists()


def test_an_agent_without_memory_starts_each_job_afresh(worker, tenant, model):
    agent(tenant, "forgetful", model.url)
    model.brain = ScriptedBrain(Reply(text="Hello."))

    finished(start(tenant, "forgetful", "My name is Ada.", session_id="s-2"))
    finished(start(tenant, "forgetful", "What is my name?", session_id="s-2"))

    assert "My name is Ada." not in json.dumps(model.requests[1]["messages"])
    assert not SessionMemory.objects.filter(session_id="s-2").exists()


def test_a_collaborator_answers_through_its_transfer_tool_sharing_the_runs_usage(worker, tenant, model):
    agent(tenant, "refunds", model.url)
    agent(tenant, "front", model.url, collaborators=("refunds",))
    model.brain = ScriptedBrain(
        Reply(tool_calls=[("transfer_to_refunds", {"message": "Refund order A-17"})], input_tokens=10, output_tokens=1),
        Reply(text="Refund of A-17 started.", input_tokens=20, output_tokens=2),
        Reply(text="The refunds team started your refund.", input_tokens=30, output_tokens=3),
    )

    job = finished(start(tenant, "front", "I want my money back for A-17."))

    assert job.status == Job.Status.SUCCESS, job.message
    assert job.message == "The refunds team started your refund."
    tools = [tool["function"]["name"] for tool in model.requests[0]["tools"]]
    assert tools == ["transfer_to_refunds"]
    # The collaborator was asked what the front agent passed on, with its own prompt and no way back to the front.
    assert model.requests[1]["messages"][-1] == {"role": "user", "content": "Refund order A-17"}
    assert "tools" not in model.requests[1]
    assert job.usage["requests"] == 3 and job.usage["inputTokens"] == 60
    transcript = lines(job)
    assert "Tool transfer_to_refunds called by agent front" in transcript
    assert "Agent receive request: Refund order A-17" in transcript
    assert "Successfully transferred back to front" in transcript
    request = AgentRequest.objects.get(request_id=job.request_id)
    assert request.collaboration_agents == ["refunds"]
    assert AgentSession.objects.get(session_id=job.session_id).agents == ["front", "refunds"]


def test_collaborations_stop_at_a_cycle(worker, tenant, model):
    agent(tenant, "pong", model.url)
    agent(tenant, "ping", model.url, collaborators=("pong",))
    agent(tenant, "pong", model.url, collaborators=("ping",))
    model.brain = ScriptedBrain(
        Reply(tool_calls=[("transfer_to_pong", {"message": "over to you"})]),
        Reply(text="pong answers"),
        Reply(text="done"),
    )

    job = finished(start(tenant, "ping", "Play."))

    assert job.status == Job.Status.SUCCESS, job.message
    # pong is offered no transfer back to ping, which is already in the chain.
    assert "tools" not in model.requests[1]


def test_an_output_format_makes_the_answer_json_text(worker, tenant, model):
    schema = {"type": "object", "properties": {"sentiment": {"type": "string"}}, "required": ["sentiment"]}
    agent(tenant, "shaped", model.url, outputFormat=json.dumps(schema))
    model.brain = ScriptedBrain(Reply(tool_calls=[("final_result", {"sentiment": "happy"})]))

    job = finished(start(tenant, "shaped", "I love it."))

    assert job.status == Job.Status.SUCCESS, job.message
    assert json.loads(str(job.message)) == {"sentiment": "happy"}


def test_an_mcp_server_over_sse_gives_its_tools_to_the_model(worker, tenant, model, mcp_sse):
    mcp_server(tenant, "legacy", mcp_sse.url, transport="sse")
    agent(tenant, "support", model.url, servers=("legacy",))
    model.brain = ScriptedBrain(Reply(tool_calls=[("order_status", {"order_id": "B-2"})]), Reply(text="B-2 shipped."))

    job = finished(start(tenant, "support", "Where is B-2?"))

    assert job.status == Job.Status.SUCCESS, job.message
    assert [tool["function"]["name"] for tool in model.requests[0]["tools"]] == ["order_status"]
    assert mcp_sse.recorder.calls == [("order_status", {"order_id": "B-2"})]
    assert MCP_KEY in mcp_sse.recorder.authorizations


def test_the_agents_prompt_temperature_and_model_reach_the_model(worker, tenant, model):
    llm = {
        "provider": "self_hosted_ollama",
        "model": "llama-9",
        "temperature": 0.3,
        "selfHostedParams": {"url": model.url},
    }
    agent(tenant, "tuned", model.url, llm=llm, userPrompt="Answer in French.")
    model.brain = ScriptedBrain(Reply(text="Bonjour."))

    job = finished(start(tenant, "tuned", "Hello"))

    assert job.message == "Bonjour."
    sent = model.requests[0]
    assert (sent["model"], sent["temperature"]) == ("llama-9", 0.3)
    assert sent["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert job.usage is not None and job.usage["model"] == "llama-9"


def test_a_rerun_of_a_failed_run_asks_the_agent_again_as_a_new_request_with_its_own_transcript(worker, tenant, model):
    agent(tenant, "a", model.url)
    model.brain = ScriptedBrain(Reply(status=500, error="Down."), Reply(text="Back up."))
    first = finished(start(tenant, "a", "Hello", session_id="s-r"))
    assert first.status == Job.Status.FAILURE

    again = finished(job_retry(job=first))

    assert (again.status, again.message) == (Job.Status.SUCCESS, "Back up.")
    assert (again.session_id, again.agent_id) == ("s-r", "a") and again.request_id != first.request_id
    assert lines(again)[0] == "Agent receive request: Hello"
    assert lines(again)[-1] == "Agent final response: Back up."
    assert AgentRequest.objects.get(request_id=again.request_id).severity == "INFO"

"""Models that speak another provider's API, by a real worker: self-hosted ones (llmConfig.baseProvider) ANTHROPIC
and GOOGLE, through the demo server's Messages and generateContent routes, with a tool call and the authorization
header; and the provider `google` with the agent's key, pointed at the demo server the way google-genai lets
anyone point it (GOOGLE_GEMINI_BASE_URL: the worker runs in the test's process)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agentic.demo_model import DemoModelServer, Reply, ScriptedBrain
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.agentic.runtime.conftest import MODEL_KEY, agent, finished, mcp_server, start, token

pytestmark = pytest.mark.django_db(transaction=True)

GEMINI_KEY = "gk-Vb3Nq8Tz1Rw5-agent-key-do-not-leak"


def test_a_self_hosted_model_with_the_anthropic_api_runs_a_tool_and_answers(worker, tenant, model, mcp):
    mcp_server(tenant, "orders", mcp.url)
    llm = {
        "provider": "self_hosted_vllm",
        "model": "claude-demo",
        "baseProvider": "ANTHROPIC",
        "selfHostedParams": {
            "url": model.url,
            "authorizationHeaderName": "X-Model-Key",
            "authorizationHeaderToken": {"id": "model-key"},
        },
    }
    agent(tenant, "a", model.url, servers=("orders",), llm=llm)
    model.brain = ScriptedBrain(
        Reply(tool_calls=[("order_status", {"order_id": "AN-7"})]), Reply(text="AN-7 is on its way.")
    )
    calls = len(mcp.recorder.calls)

    job = finished(start(tenant, "a", "Where is AN-7?"))

    assert job.status == Job.Status.SUCCESS, job.message
    assert job.message == "AN-7 is on its way."
    assert mcp.recorder.calls[calls:] == [("order_status", {"order_id": "AN-7"})]
    first, second = model.requests[-2:]
    assert [tool["name"] for tool in first["tools"]] == ["order_status"]  # the Messages API's shape
    results = [part for message in second["messages"] for part in message["content"] if isinstance(part, dict)]
    assert any(part.get("type") == "tool_result" and "AN-7" in str(part.get("content")) for part in results)
    assert {headers.get("x-model-key") for headers in model.headers[-2:]} == {MODEL_KEY}
    assert job.usage is not None and job.usage["requests"] == 2 and job.usage["toolCalls"] == 1


def gemini(url: str, **params: str) -> dict[str, Any]:
    """The llmConfig of a self-hosted model speaking Gemini's API at `url`, sending MODEL_KEY in X-Model-Key."""
    auth = {"authorizationHeaderName": "X-Model-Key", "authorizationHeaderToken": {"id": "model-key"}} | params
    return {
        "provider": "self_hosted_ollama",
        "model": "gemini-demo",
        "baseProvider": "GOOGLE",
        "selfHostedParams": {"url": url, **auth},
    }


def function_responses(request: dict[str, Any]) -> list[dict[str, Any]]:
    parts = [part for content in request["contents"] for part in content["parts"]]
    return [part["functionResponse"] for part in parts if "functionResponse" in part]


def run_the_order_tool(tenant: Tenant, model: DemoModelServer, mcp: Any, order_id: str) -> Job:
    """A run whose model asks for `order_id`'s status, then answers; the job once it has finished."""
    model.brain = ScriptedBrain(
        Reply(tool_calls=[("order_status", {"order_id": order_id})], input_tokens=50, output_tokens=5),
        Reply(text=f"{order_id} is on its way.", input_tokens=80, output_tokens=7),
    )
    calls = len(mcp.recorder.calls)
    job = finished(start(tenant, "a", f"Where is {order_id}?"))
    assert job.status == Job.Status.SUCCESS, job.message
    assert job.message == f"{order_id} is on its way."
    assert mcp.recorder.calls[calls:] == [("order_status", {"order_id": order_id})]
    return job


def test_a_self_hosted_model_with_the_google_api_runs_a_tool_and_answers(worker, tenant, model, mcp):
    mcp_server(tenant, "orders", mcp.url)
    agent(tenant, "a", model.url, servers=("orders",), llm=gemini(model.url))

    job = run_the_order_tool(tenant, model, mcp, "GO-7")

    first, second = model.requests[-2:]
    declared = [declaration["name"] for tool in first["tools"] for declaration in tool["functionDeclarations"]]
    assert declared == ["order_status"]  # Gemini's shape
    assert first["systemInstruction"]["parts"] == [{"text": "Help the customer with orders."}]
    assert first["contents"] == [{"role": "user", "parts": [{"text": "Where is GO-7?"}]}]
    call = second["contents"][1]
    assert (call["role"], call["parts"][0]["functionCall"]["args"]) == ("model", {"order_id": "GO-7"})
    [response] = function_responses(second)
    assert response["name"] == "order_status" and "GO-7 was shipped" in str(response["response"])
    assert response["id"] == call["parts"][0]["functionCall"]["id"]  # the call it answers
    assert {headers.get("x-model-key") for headers in model.headers[-2:]} == {MODEL_KEY}
    assert job.usage is not None and job.usage["requests"] == 2 and job.usage["toolCalls"] == 1
    assert (job.usage["inputTokens"], job.usage["outputTokens"]) == (130, 12)


def test_a_self_hosted_google_model_taking_its_token_in_x_goog_api_key_gets_it_as_the_key(worker, tenant, model):
    # The SDK sends its key in that header over the client's own headers: the token, not a placeholder, is sent.
    agent(tenant, "a", model.url, llm=gemini(model.url, authorizationHeaderName="X-Goog-Api-Key"))
    model.brain = ScriptedBrain(Reply(text="Hello."))

    job = finished(start(tenant, "a", "Hi"))

    assert job.status == Job.Status.SUCCESS, job.message
    assert model.headers[-1]["x-goog-api-key"] == MODEL_KEY


def test_a_google_model_answering_with_an_http_error_fails_the_run_without_a_retry(worker, tenant, model):
    agent(tenant, "a", model.url, llm=gemini(model.url))
    model.brain = ScriptedBrain(Reply(status=503, error="The model is overloaded."))

    job = finished(start(tenant, "a", "Hello"))

    assert job.status == Job.Status.FAILURE
    assert job.message == "The model gemini-demo (self_hosted_ollama) answered HTTP 503: The model is overloaded."
    assert len(model.requests) == 1  # google-genai retries a 503 when given retry options: never behind a run


def test_the_google_provider_sends_the_agents_key_and_runs_a_tool(worker, tenant, model, mcp, monkeypatch):
    # google-genai's own default endpoint, read when the client is built: the worker's next build sees this one.
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", model.url)
    token(tenant, "gemini-key", GEMINI_KEY)
    mcp_server(tenant, "orders", mcp.url)
    llm = {"provider": "google", "model": "gemini-2.5-flash", "token": {"id": "gemini-key"}}
    agent(tenant, "a", model.url, servers=("orders",), llm=llm)

    job = run_the_order_tool(tenant, model, mcp, "GG-3")

    assert [headers.get("x-goog-api-key") for headers in model.headers[-2:]] == [GEMINI_KEY, GEMINI_KEY]
    assert "x-model-key" not in model.headers[-1]
    assert [response["name"] for response in function_responses(model.requests[-1])] == ["order_status"]
    assert job.usage is not None and job.usage["requests"] == 2 and job.usage["toolCalls"] == 1

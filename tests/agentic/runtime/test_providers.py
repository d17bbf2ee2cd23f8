"""Self-hosted models that speak another provider's API (llmConfig.baseProvider): ANTHROPIC, through the demo
server's Messages API, with a tool call and the authorization header, by a real worker."""

from __future__ import annotations

import pytest

from apps.agentic.demo_model import Reply, ScriptedBrain
from apps.jobs.models import Job
from tests.agentic.runtime.conftest import MODEL_KEY, agent, finished, mcp_server, start

pytestmark = pytest.mark.django_db(transaction=True)


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

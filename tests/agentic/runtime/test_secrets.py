"""No secret (a token's value, an authorization header's value) ends up in a log line, a job, a request log or the
worker's log, whether the run succeeds or fails, even when the model's error echoes the key."""

from __future__ import annotations

import logging

import pytest

from apps.agentic.demo_model import Reply, ScriptedBrain
from apps.agentic.models import AgentRequest, AgentSession, LogMessage, SessionMemory
from apps.jobs.models import Job
from tests.agentic.runtime.conftest import MCP_KEY, MODEL_KEY, agent, finished, mcp_server, start

pytestmark = pytest.mark.django_db(transaction=True)


def everything_written() -> str:
    rows = [
        *Job.objects.values_list("message", "usage", "payload", "commerce_event"),
        *LogMessage.objects.values_list("message", "agent_id"),
        *AgentRequest.objects.values_list("trigger_agent_id", "collaboration_agents", "severity"),
        *AgentSession.objects.values_list("agents", "severity"),
        *SessionMemory.objects.values_list("messages", flat=True),
    ]
    return repr(rows)


def test_no_secret_is_written_by_a_run_that_uses_them_and_fails_with_an_error_echoing_one(
    worker, tenant, model, mcp, caplog
):
    caplog.set_level(logging.DEBUG)
    mcp_server(tenant, "orders", mcp.url)
    agent(tenant, "a", model.url, servers=("orders",), enabledMemory=True)
    model.brain = ScriptedBrain(
        Reply(tool_calls=[("order_status", {"order_id": "A-1"})]),
        Reply(text="Shipped."),
    )
    ok = finished(start(tenant, "a", "Where is A-1?", session_id="s"))
    model.brain = ScriptedBrain(Reply(status=401, error=f"Incorrect API key provided: {MODEL_KEY}."))
    bad = finished(start(tenant, "a", "And now?", session_id="s"))

    assert (ok.status, bad.status) == (Job.Status.SUCCESS, Job.Status.FAILURE)
    assert bad.message == "The model demo-1 (self_hosted_vllm) answered HTTP 401: Incorrect API key provided: ***."
    # The secrets were used: the model got its header, the MCP server its token.
    assert model.headers[0]["x-model-key"] == MODEL_KEY and MCP_KEY in mcp.recorder.authorizations
    written = everything_written() + caplog.text
    for secret in (MODEL_KEY, MCP_KEY, MCP_KEY.split()[1]):
        assert secret not in written

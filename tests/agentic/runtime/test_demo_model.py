"""The demo model: an OpenAI-compatible server whose deterministic brain lets a new install see an agent answer
(and call a tool) with no API key, and `manage.py demo_model`, which only runs in development."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.agentic.demo_model import DemoBrain, DemoModelServer, Reply, ScriptedBrain
from apps.jobs.models import Job
from tests.agentic.runtime.conftest import agent, finished, mcp_server, start

ORDER_TOOL = {
    "type": "function",
    "function": {
        "name": "order_status",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    },
}


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url + "/chat/completions", json.dumps(body).encode(), headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the test's own server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_demo_brain_echoes_the_users_message_the_same_way_every_time():
    body = {"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hello   there"}]}
    assert DemoBrain()(body) == DemoBrain()(body)
    assert DemoBrain()(body).text == 'Demo answer: you said "Hello there". Connect a real model for real answers.'


def test_the_demo_brain_calls_a_tool_the_message_names_and_then_quotes_its_output():
    asked = {"messages": [{"role": "user", "content": "Use order_status please"}], "tools": [ORDER_TOOL]}
    call = DemoBrain()(asked)
    assert call.tool_calls == [("order_status", {"order_id": "Use order_status please"})]
    answered = {**asked, "messages": [*asked["messages"], {"role": "tool", "content": "Shipped."}]}
    assert DemoBrain()(answered).text == "Here is what I found: Shipped."


def test_the_server_answers_in_the_chat_completions_shape_with_usage():
    with DemoModelServer(ScriptedBrain(Reply(text="Hi", input_tokens=7, output_tokens=2))) as model:
        status, body = post(model.url, {"model": "demo-1", "messages": [{"role": "user", "content": "Hello"}]})
    assert status == 200
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hi"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
    assert body["model"] == "demo-1"
    assert model.requests[0]["messages"] == [{"role": "user", "content": "Hello"}]


def test_a_scripted_brain_answers_tool_calls_and_errors_in_order():
    brain = ScriptedBrain(Reply(tool_calls=[("order_status", {"order_id": "7"})]), Reply(status=429, error="Slow down"))
    with DemoModelServer(brain) as model:
        _, first = post(model.url, {"messages": [{"role": "user", "content": "a"}]})
        status, second = post(model.url, {"messages": [{"role": "user", "content": "b"}]})
    call = first["choices"][0]["message"]["tool_calls"][0]
    assert call["function"] == {"name": "order_status", "arguments": '{"order_id": "7"}'}
    assert first["choices"][0]["finish_reason"] == "tool_calls"
    assert (status, second["error"]["message"]) == (429, "Slow down")
    assert len(brain.requests) == 2


def test_the_command_refuses_to_start_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG is off"):
        call_command("demo_model", "--port", "0")


@pytest.mark.django_db(transaction=True)
def test_an_agent_on_the_demo_model_calls_its_mcp_tool_and_answers_with_the_output(worker, tenant, mcp):
    with DemoModelServer() as model:
        mcp_server(tenant, "orders", mcp.url)
        agent(tenant, "demo", model.url, servers=("orders",))
        job = finished(start(tenant, "demo", "Please check order_status for my order"))
    assert job.status == Job.Status.SUCCESS, job.message
    assert (
        job.message == "Here is what I found: Order Please check order_status for my order was shipped on 2026-11-28."
    )

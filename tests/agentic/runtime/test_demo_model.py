"""The demo model: an OpenAI-compatible server whose deterministic brain lets a new install see an agent answer
(and call a tool) with no API key, and `manage.py demo_model`, which only runs in development."""

from __future__ import annotations

import http.client
import json
import socket
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


def post(url: str, body: dict[str, Any], route: str = "/chat/completions") -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url + route, json.dumps(body).encode(), headers)  # noqa: S310
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


def test_the_server_sends_each_answer_without_waiting_to_fill_a_packet():
    # Headers and body leave in two writes: with Nagle's algorithm, the body of every answer after a connection's
    # first waited for the client's delayed acknowledgement (40 ms on Linux), a latency no provider has.
    accepted: list[socket.socket] = []
    with DemoModelServer(ScriptedBrain(Reply(text="Hi"))) as model:
        take = model._server.get_request

        def get_request() -> tuple[socket.socket, Any]:
            connection, address = take()
            accepted.append(connection)
            return connection, address

        model._server.get_request = get_request  # type: ignore[method-assign]  # to see the server's own socket
        host, port = model._server.server_address[:2]
        kept = http.client.HTTPConnection(str(host), port, timeout=5)  # kept open, as a model client keeps it
        try:
            body = json.dumps({"messages": [{"role": "user", "content": "Hello"}]})
            kept.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
            assert kept.getresponse().read() and accepted
            assert accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            kept.close()


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


GEMINI_ROUTE = "/v1beta/models/gemini-demo:generateContent"  # after the base URL, as google-genai builds it
GEMINI_REQUEST = {
    "systemInstruction": {"role": "user", "parts": [{"text": "Be brief."}]},
    "contents": [
        {"role": "user", "parts": [{"text": "Where is 7?"}]},
        {"role": "model", "parts": [{"functionCall": {"id": "c1", "name": "order_status", "args": {"order_id": "7"}}}]},
        {
            "role": "user",
            "parts": [{"functionResponse": {"id": "c1", "name": "order_status", "response": {"return_value": "Gone"}}}],
        },
    ],
    "tools": [
        {
            "functionDeclarations": [
                {"name": "order_status", "parameters_json_schema": ORDER_TOOL["function"]["parameters"]},
                {"name": "final_result", "parametersJsonSchema": {"type": "object"}},
            ]
        }
    ],
    "generationConfig": {"temperature": 0},
}


def test_the_gemini_route_shows_the_brain_the_request_in_the_chat_shape():
    brain = ScriptedBrain(Reply(text="Gone it is."))
    with DemoModelServer(brain) as model:
        status, _ = post(model.url, GEMINI_REQUEST, GEMINI_ROUTE)
    assert status == 200
    call = {"function": {"name": "order_status", "arguments": '{"order_id": "7"}'}}
    assert brain.requests == [
        {
            "model": "gemini-demo",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Where is 7?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "Gone"},
            ],
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "order_status", "parameters": ORDER_TOOL["function"]["parameters"]},
                },
                {"type": "function", "function": {"name": "final_result", "parameters": {"type": "object"}}},
            ],
        }
    ]
    assert model.requests == [GEMINI_REQUEST]  # recorded as sent


def test_the_gemini_route_answers_text_function_calls_usage_and_errors_in_geminis_shape():
    brain = ScriptedBrain(
        Reply(tool_calls=[("order_status", {"order_id": "7"})], input_tokens=7, output_tokens=2),
        Reply(text="Shipped.", input_tokens=9, output_tokens=1),
        Reply(status=429, error="Slow down"),
    )
    with DemoModelServer(brain) as model:
        _, called = post(model.url, GEMINI_REQUEST, GEMINI_ROUTE)
        _, answered = post(model.url, GEMINI_REQUEST, GEMINI_ROUTE)
        status, refused = post(model.url, GEMINI_REQUEST, GEMINI_ROUTE)
    [candidate] = called["candidates"]
    assert candidate["content"] == {
        "role": "model",
        "parts": [{"functionCall": {"name": "order_status", "args": {"order_id": "7"}}}],
    }
    assert candidate["finishReason"] == "STOP"  # Gemini's, for function calls too
    assert called["usageMetadata"] == {"promptTokenCount": 7, "candidatesTokenCount": 2, "totalTokenCount": 9}
    assert answered["candidates"][0]["content"]["parts"] == [{"text": "Shipped."}]
    assert answered["modelVersion"] == "gemini-demo"
    assert (status, refused) == (429, {"error": {"code": 429, "message": "Slow down", "status": "RESOURCE_EXHAUSTED"}})


def test_the_demo_brain_quotes_a_function_response_sent_to_the_gemini_route():
    with DemoModelServer() as model:
        _, answer = post(model.url, {**GEMINI_REQUEST, "tools": []}, GEMINI_ROUTE)
    assert answer["candidates"][0]["content"]["parts"] == [{"text": "Here is what I found: Gone"}]


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

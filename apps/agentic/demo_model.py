"""A small OpenAI-compatible chat-completions server on this machine, whose answers come from a *brain*.

Two uses, one class: `manage.py demo_model` serves the deterministic `DemoBrain`, so that a new install can run its
agents with no API key (a self-hosted OPENAI model at this server's URL); the tests give it a `ScriptedBrain` and
so get a model whose replies, tool calls, usage, latency and HTTP errors they choose.

Only what the runtime uses is implemented: `POST .../chat/completions`, not streamed, with `usage` in every answer;
and, for the tests of self-hosted models with baseProvider ANTHROPIC or GOOGLE, the same brains behind Anthropic's
Messages API (`POST .../messages`) and Gemini's (`POST .../models/{model}:generateContent`, not streamed). Token
counts are estimated from text lengths (never with a tokenizer).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

Body = dict[str, Any]


@dataclass
class Reply:
    """One answer of the model: text, or tool calls `(name, arguments)`, or an HTTP error (`status` >= 400)."""

    text: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    input_tokens: int | None = None  # None: estimated from the request
    output_tokens: int | None = None  # None: estimated from the answer
    delay: float = 0.0  # seconds from the request's arrival to the answer
    status: int = 200
    error: str = "The demo model failed."


Brain = Callable[[Body], Reply]


def last_text(body: Body, role: str) -> str:
    """The text of the last message of `role` in a chat-completions request."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == role:
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            return str(content or "")
    return ""


def tool_names(body: Body) -> list[str]:
    return [str(tool.get("function", {}).get("name")) for tool in body.get("tools") or []]


def sample_arguments(schema: dict[str, Any], text: str) -> dict[str, Any]:
    """Arguments satisfying a tool's JSON schema well enough for a demo: strings get `text`, numbers 1."""
    samples: dict[str, Any] = {"string": text, "integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}
    properties = schema.get("properties") or {}
    return {name: samples.get(str(spec.get("type")), text) for name, spec in properties.items()}


class DemoBrain:
    """Deterministic answers. A request whose last user message names one of the offered tools calls that tool once;
    after a tool's output the answer quotes it; otherwise the answer echoes the message. An agent with an output
    format (offered as the `final_result` tool) gets arguments made from that format's schema."""

    def __call__(self, body: Body) -> Reply:
        last = (body.get("messages") or [{}])[-1]
        if last.get("role") == "tool":
            output = str(last.get("content") or "")
            return self._final(body, f"Here is what I found: {output[:500]}")
        question = last_text(body, "user")
        for tool in body.get("tools") or []:
            function = tool.get("function", {})
            name = str(function.get("name"))
            if name != "final_result" and name.lower() in question.lower():
                return Reply(tool_calls=[(name, sample_arguments(function.get("parameters") or {}, question))])
        summary = " ".join(question.split())[:200]
        return self._final(body, f'Demo answer: you said "{summary}". Connect a real model for real answers.')

    def _final(self, body: Body, text: str) -> Reply:
        for tool in body.get("tools") or []:
            function = tool.get("function", {})
            if function.get("name") == "final_result":
                return Reply(tool_calls=[("final_result", sample_arguments(function.get("parameters") or {}, text))])
        return Reply(text=text)


class ScriptedBrain:
    """Answers with the given replies in order (the last one again once they run out); keeps the requests."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [Reply(text="OK")]
        self.requests: list[Body] = []
        self._lock = threading.Lock()

    def __call__(self, body: Body) -> Reply:
        with self._lock:
            self.requests.append(body)
            index = min(len(self.requests), len(self.replies)) - 1
            return self.replies[index]


def completion(body: Body, reply: Reply, number: int) -> Body:
    """The chat-completions answer for `reply`."""
    calls = [
        {"id": f"call_{number}_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(reply.tool_calls)
    ]
    message: Body = {"role": "assistant", "content": reply.text}
    if calls:
        message["tool_calls"] = calls
    prompt_tokens = reply.input_tokens
    if prompt_tokens is None:
        prompt_tokens = max(1, len(json.dumps(body.get("messages") or [])) // 4)
    completion_tokens = reply.output_tokens
    if completion_tokens is None:
        completion_tokens = max(1, len((reply.text or "") + json.dumps(calls)) // 4)
    return {
        "id": f"chatcmpl-demo-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model") or "demo"),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def anthropic_message(body: Body, reply: Reply, number: int) -> Body:
    """The Messages API answer for `reply` (the brains speak chat-completions: see _as_chat)."""
    content: list[Body] = [{"type": "text", "text": reply.text}] if reply.text else []
    content += [
        {"type": "tool_use", "id": f"toolu_{number}_{i}", "name": name, "input": args}
        for i, (name, args) in enumerate(reply.tool_calls)
    ]
    input_tokens = reply.input_tokens or max(1, len(json.dumps(body.get("messages") or [])) // 4)
    output_tokens = reply.output_tokens or max(1, len(json.dumps(content)) // 4)
    return {
        "id": f"msg_demo_{number}",
        "type": "message",
        "role": "assistant",
        "model": str(body.get("model") or "demo"),
        "content": content,
        "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def _as_chat(body: Body) -> Body:
    """A Messages API request seen as chat-completions, which the brains read: tool results become `tool`
    messages, and tools are offered as functions."""
    messages: list[Body] = []
    for message in body.get("messages") or []:
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"type": "text", "text": str(content or "")}]
        for part in parts:
            if part.get("type") == "tool_result":
                result = part.get("content")
                text = " ".join(str(p.get("text", "")) for p in result) if isinstance(result, list) else str(result)
                messages.append({"role": "tool", "tool_call_id": part.get("tool_use_id"), "content": text})
            elif part.get("type") == "text":
                messages.append({"role": message.get("role"), "content": part.get("text")})
    tools = [
        {"type": "function", "function": {"name": t.get("name"), "parameters": t.get("input_schema") or {}}}
        for t in body.get("tools") or []
    ]
    return {"model": body.get("model"), "messages": messages, "tools": tools}


def gemini_content(body: Body, reply: Reply, number: int, model: str) -> Body:
    """Gemini's generateContent answer for `reply` (the brains speak chat-completions: see _gemini_as_chat). Gemini
    ends a turn of function calls with finishReason STOP too, and names no call: the client numbers them."""
    parts: list[Body] = [{"text": reply.text}] if reply.text else []
    parts += [{"functionCall": {"name": name, "args": args}} for name, args in reply.tool_calls]
    prompt_tokens = reply.input_tokens or max(1, len(json.dumps(body.get("contents") or [])) // 4)
    output_tokens = reply.output_tokens or max(1, len(json.dumps(parts)) // 4)
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": prompt_tokens + output_tokens,
        },
        "modelVersion": model,
        "responseId": f"demo-{number}",
    }


def _gemini_as_chat(body: Body, model: str) -> Body:
    """A generateContent request seen as chat-completions, which the brains read: the system instruction becomes a
    `system` message, function calls the assistant's `tool_calls`, function responses `tool` messages, and the
    function declarations of every tool are offered as functions."""
    system = " ".join(str(part.get("text", "")) for part in (body.get("systemInstruction") or {}).get("parts") or [])
    messages: list[Body] = [{"role": "system", "content": system}] if system else []
    for content in body.get("contents") or []:
        role = "assistant" if content.get("role") == "model" else "user"
        for part in content.get("parts") or []:
            if "text" in part:
                messages.append({"role": role, "content": part["text"]})
            elif "functionCall" in part:
                call = part["functionCall"]
                function = {"name": call.get("name"), "arguments": json.dumps(call.get("args") or {})}
                messages.append({"role": "assistant", "content": None, "tool_calls": [{"function": function}]})
            elif "functionResponse" in part:
                response = part["functionResponse"]
                text = _function_output(response.get("response"))
                messages.append({"role": "tool", "tool_call_id": response.get("id"), "content": text})
    tools = [
        {
            "type": "function",
            "function": {
                "name": declaration.get("name"),
                "parameters": _declared_schema(declaration),
            },
        }
        for tool in body.get("tools") or []
        for declaration in tool.get("functionDeclarations") or []
    ]
    return {"model": model, "messages": messages, "tools": tools}


def _declared_schema(declaration: Body) -> Body:
    # The SDK sends `parameters_json_schema` as the client named it (the API takes both spellings); `parameters` is
    # Gemini's own schema dialect.
    for name in ("parametersJsonSchema", "parameters_json_schema", "parameters"):
        if isinstance(declaration.get(name), dict):
            return dict(declaration[name])
    return {}


def _function_output(response: Any) -> str:
    # The client wraps a tool's output in one key (`return_value`, `output`, `error`): the brains read the output.
    if isinstance(response, dict) and len(response) == 1:
        response = next(iter(response.values()))
    return response if isinstance(response, str) else json.dumps(response)


# Gemini's route names the model in the path (the SDK puts its API version, v1beta, before `models`).
_GEMINI_ROUTE = re.compile(r"/models/(?P<model>[^/:]+):generateContent$")
# Gemini's errors name a status besides the code.
_GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
_GEMINI_STATUS |= {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Connections are kept open between requests, as a model provider's are: a run's second call reuses its first
    # call's connection, and the benchmarks do not measure a TCP connection per call that real runs do not make.
    protocol_version = "HTTP/1.1"
    # An answer leaves in two writes (headers, then body). With Nagle's algorithm on, the body waited for the
    # client's delayed acknowledgement of the headers: 40 ms more on every call after a connection's first, a
    # latency no provider has, which the agent benchmark counted as the worker's overhead.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:  # the name http.server calls
        arrived = time.monotonic()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # read whole, so the next request parses
        path = self.path.split("?", 1)[0].rstrip("/")
        gemini = _GEMINI_ROUTE.search(path)
        api = "google" if gemini else "anthropic" if path.endswith("/messages") else "openai"
        if api == "openai" and path != "/v1/chat/completions":
            self._answer(404, {"error": {"message": f"No route {self.path}.", "type": "not_found"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._answer(400, {"error": {"message": "The body is not JSON.", "type": "invalid_request_error"}})
            return
        owner = self.server.owner
        owner.record(body, {name.lower(): value for name, value in self.headers.items()}, self.client_address)
        model = gemini.group("model") if gemini else str(body.get("model") or "demo")
        reply = owner.brain(_for_brain(api, body, model))
        if reply.delay:
            # The answer leaves `delay` seconds after the request arrived, as a provider's latency is measured:
            # this server's own work is part of it, not added to it.
            time.sleep(max(0.0, reply.delay - (time.monotonic() - arrived)))
        if reply.status >= 400:
            self._answer(reply.status, _error(api, reply))
            return
        self._answer(200, _success(api, body, reply, owner.next_number(), model))

    def _answer(self, status: int, payload: Body) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a cancelled or timed-out run): nobody is left to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are recorded on the server object, not printed


def _for_brain(api: str, body: Body, model: str) -> Body:
    """The request as the brains read it: in the chat-completions shape."""
    if api == "google":
        return _gemini_as_chat(body, model)
    if api == "anthropic":
        return _as_chat(body)
    return body


def _success(api: str, body: Body, reply: Reply, number: int, model: str) -> Body:
    """The answer each API gives for `reply`."""
    if api == "google":
        return gemini_content(body, reply, number, model)
    if api == "anthropic":
        return anthropic_message(body, reply, number)
    return completion(body, reply, number)


def _error(api: str, reply: Reply) -> Body:
    """The error body each API answers with."""
    if api == "google":
        status = _GEMINI_STATUS.get(reply.status, "INTERNAL")
        return {"error": {"code": reply.status, "message": reply.error, "status": status}}
    if api == "anthropic":
        return {"type": "error", "error": {"message": reply.error, "type": "api_error"}}
    return {"error": {"message": reply.error, "type": "server_error"}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: DemoModelServer


class DemoModelServer:
    """The server on `host:port` (port 0: any free one); `url` is the base URL to configure, ending in /v1.
    `requests`, `headers` (names in lower case) and `peers` hold what each request sent and where from, in order."""

    def __init__(self, brain: Brain | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.brain: Brain = brain or DemoBrain()
        self.requests: list[Body] = []
        self.headers: list[dict[str, str]] = []
        self.peers: list[Any] = []  # the client's (address, port) of each request: one port, one connection
        self._numbers = count(1)
        self._lock = threading.Lock()
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def record(self, body: Body, headers: dict[str, str], peer: Any = None) -> None:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            self.peers.append(peer)

    def next_number(self) -> int:
        with self._lock:
            return next(self._numbers)

    def start(self) -> DemoModelServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-model", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> DemoModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

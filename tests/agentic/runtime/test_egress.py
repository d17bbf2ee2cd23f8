"""Outbound safety: runs reach models and MCP servers over https at public addresses only, checked when the
connection opens, unless the host is listed; redirects are never followed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2
import pytest
from django.test import override_settings

from apps.agentic import egress
from apps.agentic.demo_model import DemoModelServer, Reply, ScriptedBrain
from apps.jobs.models import Job
from tests.agentic.runtime.conftest import agent, finished, mcp_server, start


def get(url: str) -> httpx2.Response:
    async def fetch() -> httpx2.Response:
        async with egress.http_client(timeout=5) as client:
            return await client.get(url)

    return asyncio.run(fetch())


def refusal(url: str) -> str:
    with pytest.raises(egress.EgressRefused) as caught:
        get(url)
    return str(caught.value)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("192.168.0.4", "a private address"),
        ("172.16.9.9", "a private address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("168.63.129.16", "a cloud metadata address"),
        ("169.254.10.10", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("100.64.0.1", "not a public address"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_addresses_that_are_not_public_are_refused(address, problem):
    assert egress.address_problem(address) == problem


@override_settings(AGENT_EGRESS_ALLOWED_HOSTS=["models.internal", "10.0.0.7:8000"])
def test_a_host_is_allowed_by_name_or_by_name_and_port():
    assert egress.is_allowed("models.internal", 443)
    assert egress.is_allowed("MODELS.internal", None)
    assert egress.is_allowed("10.0.0.7", 8000)
    assert not egress.is_allowed("10.0.0.7", 8001)
    assert not egress.is_allowed("other.internal", 443)


def test_plain_http_to_a_host_not_listed_is_refused_before_connecting():
    assert "must be reached over https" in refusal("http://models.example.com/v1/chat/completions")


def test_https_to_a_private_or_metadata_address_is_refused():
    assert "resolves to a private address (10.1.2.3)" in refusal("https://10.1.2.3/v1")
    assert "resolves to a cloud metadata address (169.254.169.254)" in refusal("https://169.254.169.254/latest")
    assert "resolves to a loopback address" in refusal("https://localhost:9/v1")


def test_a_name_is_checked_by_every_address_it_resolves_to_when_the_connection_opens(monkeypatch):
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["93.184.215.14", "10.0.0.5"]  # one public address does not excuse a private one

    monkeypatch.setattr(egress, "resolve", resolve)
    message = refusal("https://models.example.com/v1")
    assert "models.example.com resolves to a private address (10.0.0.5)" in message
    assert asked == ["models.example.com"]


@pytest.fixture
def redirecting() -> Iterator[str]:
    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_redirect_is_refused_even_from_a_listed_host(redirecting):
    assert "answered with a redirect (HTTP 307), which runs do not follow" in refusal(redirecting + "/models")


def test_a_listed_host_may_use_plain_http():
    with DemoModelServer() as model:
        response = asyncio.run(_post(model.url + "/chat/completions"))
    assert response.status_code == 200


async def _post(url: str) -> httpx2.Response:
    async with egress.http_client(timeout=5) as client:
        return await client.post(url, json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})


# --- through the worker: the job says which request was refused ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_model_url_is_refused_fails_naming_the_host(worker, tenant):
    agent(tenant, "a", "http://models.example.com/v1")

    job = finished(start(tenant, "a", "Hello"))

    assert job.status == Job.Status.FAILURE
    assert job.message == (
        "A request of the run was refused: models.example.com must be reached over https (only hosts in "
        "AGENT_EGRESS_ALLOWED_HOSTS may use http)."
    )


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_model_redirects_fails_without_following(worker, tenant, redirecting):
    agent(tenant, "a", redirecting)

    job = finished(start(tenant, "a", "Hello"))

    assert job.status == Job.Status.FAILURE
    assert "answered with a redirect (HTTP 307), which runs do not follow" in str(job.message)


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_mcp_server_resolves_to_a_metadata_address_fails_naming_it(worker, tenant, model):
    mcp_server(tenant, "meta", "https://169.254.169.254/mcp")
    agent(tenant, "a", model.url, servers=("meta",))
    model.brain = ScriptedBrain(Reply(text="never asked"))

    job = finished(start(tenant, "a", "Hello"))

    assert job.status == Job.Status.FAILURE
    assert "169.254.169.254 resolves to a cloud metadata address" in str(job.message)


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_mcp_server_does_not_answer_fails_naming_the_server(worker, tenant, model):
    mcp_server(tenant, "gone", "http://127.0.0.1:9/mcp")  # nothing listens on the discard port
    agent(tenant, "a", model.url, servers=("gone",))
    model.brain = ScriptedBrain(Reply(text="never asked"))

    job = finished(start(tenant, "a", "Hello"))

    assert job.status == Job.Status.FAILURE
    assert str(job.message).startswith("The MCP server 'Server gone' (gone) could not be used: ")
    assert model.requests == []

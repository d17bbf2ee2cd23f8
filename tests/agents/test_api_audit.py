"""Writes through the API land in the tenant's audit trail, naming the API client (and an external token's
subject), as the console's own actions name their user: upserts and deletes of the four kinds, job deletes,
exports and imports. A refused write leaves no event."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest

from apps.accounts.services import IssuedClient
from apps.agents.bundle import bundle_encode
from apps.agents.models import Kind
from apps.audit.models import AuditEvent
from apps.jobs import tasks
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.accounts.external_issuer import (  # noqa: F401  # the provider's fixtures, used by name
    clock,
    issuer,
    keys_forgotten,
    provider,
)
from tests.agents.conftest import (
    agent_body,
    client_with,
    create,
    custom_mcp_body,
    put,
    rag_tool_body,
    token_body,
    url,
)
from tests.conftest import MANAGE, READ
from tests.jwks_server import JwksServer

# No provider keys kept from another test, as in the tests of external tokens.
pytestmark = pytest.mark.usefixtures("keys_forgotten")

BODIES = {
    Kind.AGENT: agent_body("t1"),
    Kind.TOOL: rag_tool_body("t1"),
    Kind.MCP_SERVER: custom_mcp_body("t1"),
    Kind.TOKEN: token_body(),
}
ASYNC = {"HTTP_PREFER": "respond-async"}


@pytest.fixture
def issued(tenant: Tenant, issue_client: Callable[..., IssuedClient]) -> IssuedClient:
    create(tenant, Kind.TOKEN, "t1", token_body())
    return issue_client(tenant, READ, MANAGE)


@pytest.fixture
def caller(tenant: Tenant, issued: IssuedClient, make_token: Callable[..., str]) -> Any:
    return client_with(make_token(tenant, READ, MANAGE, client=issued.client))


@pytest.fixture(autouse=True)
def _no_broker() -> Iterator[mock.Mock]:
    with mock.patch.object(tasks.job_run, "apply_async") as send:
        yield send


def events() -> list[tuple[str, str, str, str, dict[str, Any]]]:
    return [
        (e.action, e.object_id, e.api_client_id, e.subject, e.detail) for e in AuditEvent.objects.order_by("at", "id")
    ]


@pytest.mark.parametrize("kind", list(Kind))
def test_creating_replacing_and_deleting_through_the_api_are_audited_with_the_client_id(
    caller: Any, issued: IssuedClient, kind: Kind
) -> None:
    AuditEvent.objects.all().delete()
    cid = issued.client.client_id

    assert put(caller, kind, "x1", BODIES[kind]).status_code == 201
    assert put(caller, kind, "x1", BODIES[kind]).status_code == 204
    assert caller.delete(url(kind, "x1")).status_code == 204

    assert events() == [
        ("resource.save", "x1", cid, "", {"kind": kind.value, "created": True}),
        ("resource.save", "x1", cid, "", {"kind": kind.value, "created": False}),
        ("resource.delete", "x1", cid, "", {"kind": kind.value, "force": False, "detachedFrom": []}),
    ]
    event = AuditEvent.objects.first()
    assert event is not None and (event.user, event.username) == (None, "")


def test_a_forced_delete_through_the_api_records_what_it_was_detached_from(
    caller: Any, issued: IssuedClient, tenant: Tenant
) -> None:
    create(tenant, Kind.TOOL, "used", rag_tool_body("t1"))
    create(tenant, Kind.AGENT, "user", agent_body("t1", tools=("used",)))

    assert caller.delete(url(Kind.TOOL, "used", force="true")).status_code == 204

    detail = {"kind": "tool", "force": True, "detachedFrom": [{"kind": "agent", "id": "user"}]}
    assert events()[-1] == ("resource.delete", "used", issued.client.client_id, "", detail)


def test_a_refused_write_leaves_no_audit_event(caller: Any, tenant: Tenant) -> None:
    AuditEvent.objects.all().delete()

    assert put(caller, Kind.AGENT, "x/", BODIES[Kind.AGENT]).status_code == 400
    assert put(caller, Kind.AGENT, "a1", {"name": "not localized"}).status_code == 400
    assert put(caller, Kind.AGENT, "a1", agent_body("no-such-token")).status_code == 400
    assert caller.delete(url(Kind.AGENT, "nobody")).status_code == 404
    create(tenant, Kind.TOOL, "used", rag_tool_body("t1"))
    create(tenant, Kind.AGENT, "user", agent_body("t1", tools=("used",)))
    assert caller.delete(url(Kind.TOOL, "used")).status_code == 400  # in use, without force

    assert events() == []


def test_a_job_deleted_through_the_api_is_audited(
    caller: Any, issued: IssuedClient, make_job: Callable[..., Job]
) -> None:
    job = make_job()

    assert caller.delete(f"/ai-service/acme/jobs/{job.job_id}").status_code == 204

    assert events()[-1] == ("job.delete", job.job_id, issued.client.client_id, "", {})


def test_an_export_and_an_import_through_the_api_are_audited(caller: Any, issued: IssuedClient, tenant: Tenant) -> None:
    create(tenant, Kind.AGENT, "a1", agent_body("t1"))
    cid = issued.client.client_id

    export = caller.post(url(Kind.AGENT, "export"), {"agentIds": ["a1"]}, content_type="application/json", **ASYNC)
    document = {"formatVersion": 1, "agents": [{"id": "b1", **agent_body("t1")}], "tools": [], "mcpServers": []}
    data, checksum = bundle_encode(document)
    body = {"data": data, "checksum": checksum}
    imported = caller.post(url(Kind.AGENT, "import"), body, content_type="application/json", **ASYNC)

    assert (export.status_code, imported.status_code) == (202, 202)
    assert events()[-2:] == [
        ("agents.export", export.body["jobId"], cid, "", {"agentIds": ["a1"]}),
        ("agents.import", imported.body["jobId"], cid, "", {"agentIds": ["b1"], "agents": 1}),
    ]


def test_a_write_with_an_external_token_names_its_client_and_subject(
    request: pytest.FixtureRequest, tenant: Tenant
) -> None:
    idp: JwksServer = request.getfixturevalue("issuer")  # configured as in tests/accounts/external_issuer.py
    create(tenant, Kind.TOKEN, "t1", token_body())
    token = idp.mint(idp.claims(sub="alice@example.com", client_id="partner-app"))

    response = put(client_with(token), Kind.AGENT, "a1", agent_body("t1"))

    assert response.status_code == 201
    assert events()[-1] == (
        "resource.save",
        "a1",
        "partner-app",
        "alice@example.com",
        {"kind": "agent", "created": True},
    )

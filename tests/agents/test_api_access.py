"""The access checklist of every kind of the agentic API (agents, tools, MCP servers, tokens), each of its five
operations: works for a manager; a reader only reads; 401 in the fault shape without a valid or with an expired
token; 403 on another tenant's path (and an unknown tenant answers alike); 403 without the operation's scope.
A refused call leaves the resource as it was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from apps.agents.models import Kind
from apps.tenants.models import Tenant
from tests.agents.conftest import (
    Catalogue,
    Operation,
    access_operations,
    agent_body,
    assert_forbidden,
    assert_unauthorized,
    client_with,
    create,
    custom_mcp_body,
    exists,
    ids,
    rag_tool_body,
    stored,
    token_body,
)
from tests.conftest import MANAGE, READ


def _token_alone(tenant: Tenant) -> None:
    create(tenant, Kind.TOKEN, "t1", token_body())


def _tool_with_its_token(tenant: Tenant) -> None:
    _token_alone(tenant)
    create(tenant, Kind.TOOL, "tool1", rag_tool_body("t1"))


def _server_with_its_token(tenant: Tenant) -> None:
    _token_alone(tenant)
    create(tenant, Kind.MCP_SERVER, "mcp1", custom_mcp_body("t1"))


@dataclass(frozen=True)
class Subject:
    """The resource of one kind that the operations aim at, what is stored before them, and the body of a PUT."""

    kind: Kind
    public_id: str
    name: str  # as created, to tell that a refused call changed nothing
    listed: list[str]  # what a manager's list shows
    setup: Callable[[Tenant], Any]
    renamed: dict[str, Any]


SUBJECTS = [
    # The agent a1 uses every other kind and collaborates with the agent helper (tests/agents/conftest.py).
    Subject(Kind.AGENT, "a1", "Support", ["a1", "helper"], Catalogue, agent_body("t1", name="Renamed")),
    Subject(Kind.TOOL, "tool1", "Product search", ["tool1"], _tool_with_its_token, rag_tool_body("t1", "Renamed")),
    Subject(Kind.MCP_SERVER, "mcp1", "Orders MCP", ["mcp1"], _server_with_its_token, custom_mcp_body("t1", "Renamed")),
    Subject(Kind.TOKEN, "t1", "OpenAI key", ["t1"], _token_alone, token_body("Renamed", value=None)),
]
OPERATION_NAMES = list(access_operations("any", {}))


@pytest.fixture(params=SUBJECTS, ids=[subject.kind.value for subject in SUBJECTS])
def subject(request: pytest.FixtureRequest, tenant: Tenant) -> Subject:
    chosen: Subject = request.param
    chosen.setup(tenant)
    return chosen


@pytest.fixture(params=OPERATION_NAMES)
def operation(request: pytest.FixtureRequest, subject: Subject) -> Operation:
    """The operation on the subject; a PUT renames it."""
    return access_operations(subject.public_id, subject.renamed)[request.param]


def assert_untouched(tenant: Tenant, subject: Subject) -> None:
    resource = stored(tenant, subject.kind, subject.public_id)
    assert (resource.name, resource.version) == (subject.name, 1)


def test_each_operation_of_each_kind_works_for_a_manager(manager, tenant, subject, operation):
    response = operation.call(manager, subject.kind)
    assert response.status_code == operation.success, response.body
    if operation.method == "delete":
        assert not exists(tenant, subject.kind, subject.public_id)
    elif operation.method == "put":
        assert stored(tenant, subject.kind, subject.public_id).name == "Renamed"
    elif operation.public_id == subject.public_id:
        assert response.body["id"] == subject.public_id
    elif operation.public_id is None:
        assert ids(response) == subject.listed
    else:
        assert ids(response) == [subject.public_id]


def test_a_reader_may_read_each_kind_but_not_write_it(reader, tenant, subject, operation):
    response = operation.call(reader, subject.kind)
    if operation.scope == READ:
        assert response.status_code == 200
    else:
        assert_forbidden(response)
        assert_untouched(tenant, subject)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer ", "Bearer not-a-real-token", "Token abc", "just-a-token", "Basic YWNtZTpzZWNyZXQ="],
)
def test_each_operation_answers_401_in_the_fault_shape_without_a_valid_token(
    api, tenant, subject, operation, authorization
):
    if authorization:
        api.defaults["HTTP_AUTHORIZATION"] = authorization
    assert_unauthorized(operation.call(api, subject.kind))
    assert_untouched(tenant, subject)


def test_each_operation_answers_401_for_an_expired_token(tenant, make_token, subject, operation):
    response = operation.call(client_with(make_token(tenant, READ, MANAGE, expires_in=-1)), subject.kind)
    assert response.status_code == 401
    assert response.body["fault"]["faultstring"] == "Access Token expired"
    assert_untouched(tenant, subject)


def test_each_operation_answers_403_on_another_tenants_path(outsider, tenant, subject, operation):
    assert_forbidden(operation.call(outsider, subject.kind))
    assert_untouched(tenant, subject)


def test_an_unknown_tenant_answers_exactly_as_a_foreign_one(manager, other_tenant, subject, operation):
    foreign = operation.call(manager, subject.kind, tenant="globex")
    unknown = operation.call(manager, subject.kind, tenant="nosuch")
    assert_forbidden(foreign)
    assert unknown.status_code == 403
    assert unknown.body == foreign.body


def test_each_operation_answers_403_without_its_scope(tenant, make_token, subject, operation):
    other_scope = MANAGE if operation.scope == READ else READ
    assert_forbidden(operation.call(client_with(make_token(tenant, other_scope)), subject.kind))
    assert_untouched(tenant, subject)

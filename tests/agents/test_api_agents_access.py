"""/ai-service/{tenant}/agentic/agents: who may call each operation, and the answers to wrong methods and paths."""

from __future__ import annotations

import pytest

from apps.agents.models import Kind
from tests.agents.conftest import (
    access_operations,
    agent_body,
    assert_forbidden,
    assert_unauthorized,
    assert_untouched,
    client_with,
    exists,
    ids,
    stored,
    url,
)
from tests.conftest import MANAGE, READ

AGENT = Kind.AGENT


OPERATIONS = access_operations("a1", agent_body("t1", name="Renamed"))


@pytest.fixture(params=list(OPERATIONS))
def operation(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_each_agent_operation_works_for_a_manager(manager, tenant, catalogue, operation):
    response = OPERATIONS[operation].call(manager, AGENT)
    assert response.status_code == OPERATIONS[operation].success, response.body
    if operation == "DELETE one":
        assert not exists(tenant, AGENT, "a1")
    elif operation == "PUT one":
        assert stored(tenant, AGENT, "a1").name == "Renamed"
    elif operation == "GET one":
        assert response.body["id"] == "a1"
    elif operation == "GET list":
        assert ids(response) == ["a1", "helper"]
    else:
        assert ids(response) == ["a1"]


def test_a_reader_may_read_agents_but_not_write_them(reader, tenant, catalogue, operation):
    response = OPERATIONS[operation].call(reader, AGENT)
    if OPERATIONS[operation].scope == READ:
        assert response.status_code == 200
    else:
        assert_forbidden(response)
        assert_untouched(tenant)


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-real-token", "just-a-token"])
def test_each_agent_operation_answers_401_in_the_fault_shape_without_a_valid_token(
    api, tenant, catalogue, operation, authorization
):
    if authorization:
        api.defaults["HTTP_AUTHORIZATION"] = authorization
    assert_unauthorized(OPERATIONS[operation].call(api, AGENT))
    assert_untouched(tenant)


def test_each_agent_operation_answers_403_on_another_tenants_path(outsider, tenant, catalogue, operation):
    assert_forbidden(OPERATIONS[operation].call(outsider, AGENT))
    assert_untouched(tenant)


def test_each_agent_operation_answers_403_without_its_scope(tenant, make_token, catalogue, operation):
    other_scope = MANAGE if OPERATIONS[operation].scope == READ else READ
    assert_forbidden(OPERATIONS[operation].call(client_with(make_token(tenant, other_scope)), AGENT))
    assert_untouched(tenant)


@pytest.mark.parametrize(
    "method, path, allowed",
    [("post", url(AGENT, "a1"), "PUT"), ("delete", url(AGENT), "GET"), ("patch", url(AGENT, "a1"), "PUT")],
)
def test_a_method_the_path_does_not_offer_is_a_405_not_a_403(manager, catalogue, method, path, allowed):
    response = getattr(manager, method)(path)
    assert response.status_code == 405, response.body
    assert response.body["code"] == 405
    assert allowed in response["Allow"]


@pytest.mark.parametrize("path", [url(AGENT) + "/", url(AGENT, "a1") + "/", url(AGENT, "search") + "/"])
def test_a_trailing_slash_is_a_json_404_not_a_redirect(manager, catalogue, path):
    response = manager.get(path)
    assert response.status_code == 404
    assert "Location" not in response
    assert response.body["code"] == 404

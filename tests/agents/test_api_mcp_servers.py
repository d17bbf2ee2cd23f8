"""/ai-service/{tenant}/agentic/mcp-servers: custom and dynamic servers, references, delete, lists."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agents.models import Kind
from tests.agents.conftest import (
    agent_body,
    assert_bad_request,
    create,
    custom_mcp_body,
    dynamic_mcp_body,
    exists,
    ids,
    put,
    references,
    search,
    stored,
    token_body,
    url,
)

MCP = Kind.MCP_SERVER


@pytest.fixture
def acme_server(tenant: Any) -> None:
    create(tenant, Kind.TOKEN, "t1", token_body())
    create(tenant, MCP, "mcp1", custom_mcp_body("t1"))


def assert_untouched(tenant: Any) -> None:
    server = stored(tenant, MCP, "mcp1")
    assert (server.name, server.version) == ("Orders MCP", 1)


# Upsert


def test_a_server_without_a_type_is_a_custom_one(manager, tenant):
    body = custom_mcp_body()
    del body["type"], body["enabled"]
    assert put(manager, MCP, "plain", body).status_code == 201
    server = manager.get(url(MCP, "plain")).body
    assert (server["type"], server["enabled"], server["transport"]) == ("custom", False, "streamable_http")
    assert stored(tenant, MCP, "plain").type == "custom"


def test_a_custom_server_references_its_authorization_token(manager, tenant):
    create(tenant, Kind.TOKEN, "t1", token_body())
    assert put(manager, MCP, "secured", custom_mcp_body("t1")).status_code == 201
    assert references(tenant) == {("mcp_server", "secured", "token", "t1")}
    server = manager.get(url(MCP, "secured")).body
    assert server["config"]["authorizationHeaderToken"] == {"id": "t1"}


def test_a_dynamic_server_keeps_its_tools_and_drops_what_only_custom_servers_have(manager, tenant):
    body = {**dynamic_mcp_body(), "config": {"url": "http://ignored"}}
    assert put(manager, MCP, "fn", body).status_code == 201
    server = manager.get(url(MCP, "fn")).body
    assert server["type"] == "dynamic"
    assert "config" not in server
    assert server["tools"][0]["config"]["invocation"] == {
        "functionId": "fn-get-order",
        "method": "GET",
        "argsLocation": "query",
    }
    assert server["tools"][0]["enabled"] is True
    assert stored(tenant, MCP, "fn").type == "dynamic"


def test_replacing_a_server_with_the_current_version_answers_204(manager, tenant, acme_server):
    body = {**custom_mcp_body(name="Renamed"), "metadata": {"version": 1, "modifiedAt": "whenever"}}
    assert put(manager, MCP, "mcp1", body).status_code == 204
    server = stored(tenant, MCP, "mcp1")
    assert (server.name, server.version) == ("Renamed", 2)
    assert references(tenant) == set()


def test_a_stale_metadata_version_is_a_409_that_changes_nothing(manager, tenant, acme_server):
    put(manager, MCP, "mcp1", custom_mcp_body("t1"))
    response = put(manager, MCP, "mcp1", {**custom_mcp_body(name="Late"), "metadata": {"version": 1}})
    assert response.status_code == 409
    assert stored(tenant, MCP, "mcp1").name == "Orders MCP"
    assert stored(tenant, MCP, "mcp1").version == 2


def _tool_change(change: Any) -> dict[str, Any]:
    body = dynamic_mcp_body()
    change(body["tools"][0])
    return body


@pytest.mark.parametrize(
    "body, field",
    [
        ({**custom_mcp_body(), "type": "predefined"}, "type"),
        ({**custom_mcp_body(), "transport": "websocket"}, "transport"),
        ({k: v for k, v in custom_mcp_body().items() if k != "transport"}, "transport"),
        ({k: v for k, v in custom_mcp_body().items() if k != "config"}, "config"),
        ({**custom_mcp_body(), "config": {}}, "config.url"),
        ({**custom_mcp_body(), "config": {"url": "localhost:7900"}}, "config.url"),
        (
            {**custom_mcp_body(), "config": {"url": "http://x", "authorizationHeaderToken": {"id": "nope"}}},
            "config.authorizationHeaderToken.id",
        ),
        (
            {**custom_mcp_body(), "config": {"url": "http://x", "authorizationHeaderToken": "t1"}},
            "config.authorizationHeaderToken",
        ),
        ({k: v for k, v in custom_mcp_body().items() if k != "name"}, "name"),
        ({k: v for k, v in dynamic_mcp_body().items() if k != "tools"}, "tools"),
        ({**dynamic_mcp_body(), "tools": {}}, "tools"),
        (_tool_change(lambda t: t.update(name="get order")), "tools.0.name"),
        (_tool_change(lambda t: t.pop("prompt")), "tools.0.prompt"),
        (_tool_change(lambda t: t["config"].update(inputSchema="{not json")), "tools.0.config.inputSchema"),
        (_tool_change(lambda t: t["config"]["invocation"].update(method="FETCH")), "tools.0.config.invocation.method"),
        (_tool_change(lambda t: t["config"]["invocation"].pop("functionId")), "tools.0.config.invocation.functionId"),
        ({**dynamic_mcp_body(), "tools": dynamic_mcp_body()["tools"] * 2}, "tools"),
    ],
)
def test_an_invalid_server_is_a_400_naming_the_field(manager, tenant, body, field):
    create(tenant, Kind.TOKEN, "t1", token_body())
    assert_bad_request(put(manager, MCP, "bad", body), field)
    assert not exists(tenant, MCP, "bad")
    assert references(tenant) == set()


def test_fields_the_api_does_not_know_are_dropped(manager, tenant):
    body = {**custom_mcp_body(), "headers": {"X-Api-Key": "raw"}, "config": {"url": "http://x", "timeout": 3}}
    assert put(manager, MCP, "plain", body).status_code == 201
    assert stored(tenant, MCP, "plain").body == {
        "type": "custom",
        "name": "Orders MCP",
        "enabled": True,
        "transport": "streamable_http",
        "config": {"url": "http://x"},
    }


# Delete


def test_a_server_an_agent_uses_is_not_deleted_and_the_400_names_the_agent(manager, tenant, acme_server):
    create(tenant, Kind.AGENT, "a1", agent_body("t1", name="Support", servers=("mcp1",)))
    assert_bad_request(manager.delete(url(MCP, "mcp1")), "force", "agent a1 (Support)")
    assert exists(tenant, MCP, "mcp1")


def test_force_deletes_a_used_server_and_detaches_it_from_the_agent_only(manager, tenant, acme_server):
    create(tenant, MCP, "fn", dynamic_mcp_body())
    body = agent_body("t1", servers=("mcp1",))
    body["mcpServers"].append({"type": "dynamic", "mcpServer": {"id": "fn"}, "tools": ["get-order"]})
    create(tenant, Kind.AGENT, "a1", body)
    assert manager.delete(url(MCP, "mcp1", force="true")).status_code == 204
    agent = manager.get(url(Kind.AGENT, "a1")).body
    assert agent["mcpServers"] == [
        {"type": "predefined", "domain": "order", "tools": ["get-order"]},
        {"type": "dynamic", "mcpServer": {"id": "fn"}, "tools": ["get-order"]},
    ]
    assert references(tenant) == {("agent", "a1", "token", "t1"), ("agent", "a1", "mcp_server", "fn")}
    assert not exists(tenant, MCP, "mcp1")


# Lists


def test_servers_are_searched_by_type_and_sorted_by_name(manager, tenant):
    create(tenant, MCP, "c1", custom_mcp_body(name="Beta"))
    create(tenant, MCP, "d1", dynamic_mcp_body(name="Alpha"))
    assert ids(manager.get(url(MCP, q="type:dynamic"))) == ["d1"]
    assert ids(search(manager, MCP, "type:custom enabled:true")) == ["c1"]
    assert ids(manager.get(url(MCP, sort="name"))) == ["d1", "c1"]
    assert ids(manager.get(url(MCP))) == ["d1", "c1"]  # newest first
    assert manager.get(url(MCP, fields="type")).body == [
        {"id": "d1", "type": "dynamic"},
        {"id": "c1", "type": "custom"},
    ]


# Tenant isolation


def test_another_tenant_never_sees_lists_counts_gets_or_deletes_acmes_servers(outsider, tenant, acme_server):
    response = outsider.get(url(MCP, tenant="globex"), HTTP_X_TOTAL_COUNT="true")
    assert (response.body, response["X-Total-Count"]) == ([], "0")
    assert search(outsider, MCP, "id:mcp1", tenant="globex").body == []
    assert outsider.get(url(MCP, "mcp1", tenant="globex")).status_code == 404
    assert outsider.delete(url(MCP, "mcp1", tenant="globex")).status_code == 404
    assert_untouched(tenant)

"""The agentic operations in our OpenAPI document, and the read-only admin pages."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agents.models import Kind, Token
from tests.agents.conftest import SECRET, Catalogue, document, stored
from tests.conftest import MANAGE, READ

OPERATION_IDS = {
    "agents": (
        "agentId",
        "GET-ai-list-agents",
        "POST-ai-search-agents",
        "GET-ai-retrieve-agent",
        "PUT-ai-agent",
        "DELETE-ai-delete-agent",
    ),
    "tools": (
        "toolId",
        "GET-ai-list-tools",
        "POST-ai-search-tools",
        "GET-ai-retrieve-tool",
        "PUT-ai-upsert-tool",
        "DELETE-ai-delete-tool",
    ),
    "mcp-servers": (
        "mcpServerId",
        "GET-ai-list-mcp-servers",
        "POST-ai-search-mcp-servers",
        "GET-ai-retrieve-mcp-server",
        "PUT-ai-upsert-mcp-server",
        "DELETE-ai-delete-mcp-server",
    ),
    "tokens": (
        "tokenId",
        "GET-ai-list-tokens",
        "POST-ai-search-tokens",
        "GET-ai-retrieve-token",
        "PUT-ai-upsert-token",
        "DELETE-ai-delete-token",
    ),
}


def _operation(path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = document()["paths"][path][method]
    return operation


@pytest.mark.parametrize("segment", list(OPERATION_IDS))
def test_each_operation_is_documented_with_upstreams_operation_id_and_its_scope(segment):
    parameter, list_id, search_id, retrieve_id, upsert_id, delete_id = OPERATION_IDS[segment]
    base = f"/ai-service/{{tenant}}/agentic/{segment}"
    detail = f"{base}/{{{parameter}}}"
    expected = [
        (base, "get", list_id, READ),
        (f"{base}/search", "post", search_id, READ),
        (detail, "get", retrieve_id, READ),
        (detail, "put", upsert_id, MANAGE),
        (detail, "delete", delete_id, MANAGE),
    ]
    for path, method, operation_id, scope in expected:
        operation = _operation(path, method)
        assert operation["operationId"] == operation_id
        assert operation["security"] == [{"OAuth2": [scope]}]
    assert set(document()["paths"][f"{base}/search"]) == {"post"}  # the id "search" is not a documented operation
    assert {"201", "204", "400", "401", "403", "409"} <= set(_operation(detail, "put")["responses"])
    assert {"204", "400", "404"} <= set(_operation(detail, "delete")["responses"])
    assert [p["name"] for p in _operation(detail, "delete")["parameters"] if p["in"] == "query"] == ["force"]
    list_parameters = {p["name"] for p in _operation(base, "get")["parameters"]}
    assert {"q", "pageSize", "pageNumber", "sort", "fields", "X-Total-Count"} <= list_parameters


def test_the_token_value_is_documented_as_write_only_and_never_in_a_token_response():
    schemas = document()["components"]["schemas"]
    assert schemas["TokenRequest"]["properties"]["value"]["writeOnly"] is True
    assert "value" not in schemas["Token"]["properties"]


# Admin


@pytest.fixture
def catalogue_in_admin(tenant: Any) -> Catalogue:
    return Catalogue(tenant)


@pytest.mark.parametrize("model", ["agent", "tool", "mcpserver", "token", "reference"])
def test_each_admin_list_shows_acmes_resources(admin_client, catalogue_in_admin, model):
    response = admin_client.get(f"/admin/agents/{model}/")
    assert response.status_code == 200
    assert b"acme" in response.content


def test_the_token_admin_pages_never_show_the_value_nor_its_ciphertext(admin_client, tenant, catalogue_in_admin):
    token = stored(tenant, Kind.TOKEN, "t1")
    assert isinstance(token, Token)
    pages = [
        admin_client.get("/admin/agents/token/"),
        admin_client.get(f"/admin/agents/token/{token.pk}/change/"),
        admin_client.get("/admin/agents/token/?q=t1"),
    ]
    assert [page.status_code for page in pages] == [200, 200, 200]
    for page in pages:
        assert SECRET.encode() not in page.content
        assert token.encrypted_value.encode() not in page.content
    assert b"OpenAI key" in pages[1].content


@pytest.mark.parametrize("path", ["/admin/agents/agent/add/", "/admin/agents/token/add/"])
def test_the_admin_cannot_add_resources_that_would_bypass_the_api(admin_client, catalogue_in_admin, path):
    assert admin_client.get(path).status_code == 403


def test_the_admin_cannot_delete_or_change_a_resource(admin_client, tenant, catalogue_in_admin):
    agent = stored(tenant, Kind.AGENT, "a1")
    assert admin_client.post(f"/admin/agents/agent/{agent.pk}/delete/", {"post": "yes"}).status_code == 403
    page = admin_client.get(f"/admin/agents/agent/{agent.pk}/change/")
    assert page.status_code == 200
    assert b"Support" in page.content
    assert b'name="_save"' not in page.content
    assert stored(tenant, Kind.AGENT, "a1").name == "Support"

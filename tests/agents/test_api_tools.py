"""/ai-service/{tenant}/agentic/tools: upsert and validation per tool type, references, delete, lists."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agents.models import Kind
from tests.agents.conftest import (
    agent_body,
    assert_bad_request,
    create,
    exists,
    ids,
    put,
    rag_tool_body,
    references,
    search,
    slack_tool_body,
    stored,
    token_body,
    url,
)

TOOL = Kind.TOOL


@pytest.fixture
def acme_tool(tenant: Any) -> None:
    create(tenant, Kind.TOKEN, "t1", token_body())
    create(tenant, TOOL, "tool1", rag_tool_body("t1"))


def assert_untouched(tenant: Any) -> None:
    tool = stored(tenant, TOOL, "tool1")
    assert (tool.name, tool.version) == ("Product search", 1)


def teams_tool_body() -> dict[str, Any]:
    return {
        "name": "Teams",
        "type": "teams",
        "config": {"teamId": "19:team@thread.tacv2", "tenantId": "aad-1", "allowedOperations": ["createChat"]},
    }


def rag_emporix_tool_body(provider: str = "emporix_openai", **embedding: Any) -> dict[str, Any]:
    return {
        "name": "Order search",
        "type": "rag_emporix",
        "enabled": True,
        "config": {
            "prompt": "Use it to find orders.",
            "entityType": "ORDER",
            "indexedFields": [{"name": "Number", "key": "orderNumber"}],
            "filterFields": [{"key": "status", "description": "One of OPEN, CLOSED."}],
            "embeddingConfig": {"provider": provider, **embedding},
        },
    }


# Upsert, by type


@pytest.mark.parametrize(
    "body",
    [slack_tool_body(), teams_tool_body(), rag_emporix_tool_body()],
    ids=["slack", "teams", "rag_emporix"],
)
def test_each_tool_type_is_created_with_its_configuration(manager, tenant, body):
    response = put(manager, TOOL, "new", body)
    assert response.status_code == 201, response.body
    tool = manager.get(url(TOOL, "new")).body
    assert {key: tool[key] for key in ("type", "name", "config")} == {
        key: body[key] for key in ("type", "name", "config")
    }
    assert tool["enabled"] is body.get("enabled", False)
    assert (stored(tenant, TOOL, "new").type, stored(tenant, TOOL, "new").name) == (body["type"], body["name"])


def test_a_rag_custom_tool_gets_its_defaults_and_references_its_token(manager, tenant):
    create(tenant, Kind.TOKEN, "t1", token_body())
    body = rag_tool_body("t1")
    del body["config"]["maxResults"], body["enabled"]
    assert put(manager, TOOL, "rag", body).status_code == 201
    tool = manager.get(url(TOOL, "rag")).body
    assert tool["config"]["maxResults"] == 5
    assert tool["enabled"] is False
    assert references(tenant) == {("tool", "rag", "token", "t1")}


def test_updating_a_tool_rewrites_its_references_and_counts_the_version_up(manager, tenant, acme_tool):
    create(tenant, Kind.TOKEN, "t2", token_body("Second key"))
    body = rag_tool_body("t2")
    assert put(manager, TOOL, "tool1", {**body, "metadata": {"version": 1}}).status_code == 204
    assert references(tenant) == {("tool", "tool1", "token", "t2")}
    assert manager.get(url(TOOL, "tool1")).body["metadata"]["version"] == 2
    assert put(manager, TOOL, "tool1", slack_tool_body()).status_code == 204
    assert references(tenant) == set()
    assert stored(tenant, TOOL, "tool1").type == "slack"


def test_a_stale_metadata_version_is_a_409_that_changes_nothing(manager, tenant, acme_tool):
    response = put(manager, TOOL, "tool1", {**slack_tool_body(), "metadata": {"version": 7}})
    assert response.status_code == 409
    assert response.body["details"][0]["field"] == "metadata.version"
    assert_untouched(tenant)
    assert references(tenant) == {("tool", "tool1", "token", "t1")}


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda b: b.pop("type"), "type"),
        (lambda b: b.update(type="email"), "type"),
        (lambda b: b.pop("name"), "name"),
        (lambda b: b.update(name=""), "name"),
        (lambda b: b.pop("config"), "config"),
        (lambda b: b.update(config="none"), "config"),
        (lambda b: b.update(enabled="sometimes"), "enabled"),
        (lambda b: b["config"].update(maxResults=0), "config.maxResults"),
        (lambda b: b["config"]["databaseConfig"].pop("url"), "config.databaseConfig.url"),
        (lambda b: b["config"]["databaseConfig"].update(url="ftp://vectors"), "config.databaseConfig.url"),
        (lambda b: b["config"]["databaseConfig"].update(type="pinecone"), "config.databaseConfig.type"),
        (lambda b: b["config"]["databaseConfig"].pop("token"), "config.databaseConfig.token"),
        (lambda b: b["config"]["databaseConfig"].update(token="t1"), "config.databaseConfig.token"),
        (lambda b: b["config"]["databaseConfig"].update(token={}), "config.databaseConfig.token.id"),
        (lambda b: b["config"]["embeddingConfig"].update(token={"id": 7}), "config.embeddingConfig.token.id"),
        (lambda b: b["config"].pop("embeddingConfig"), "config.embeddingConfig"),
        (lambda b: b["config"]["embeddingConfig"].update(token={"id": "nope"}), "config.embeddingConfig.token.id"),
    ],
)
def test_an_invalid_rag_custom_tool_is_a_400_naming_the_field(manager, tenant, change, field):
    create(tenant, Kind.TOKEN, "t1", token_body())
    body = rag_tool_body("t1")
    change(body)
    assert_bad_request(put(manager, TOOL, "bad", body), field)
    assert not exists(tenant, TOOL, "bad")


@pytest.mark.parametrize(
    "body, field",
    [
        ({**slack_tool_body(), "config": {}}, "config.teamId"),
        (
            {**slack_tool_body(), "config": {"teamId": "T1", "allowedOperations": ["dance"]}},
            "config.allowedOperations.0",
        ),
        (
            {**teams_tool_body(), "config": {"teamId": "x", "allowedOperations": "sendMessage"}},
            "config.allowedOperations",
        ),
        (rag_emporix_tool_body("azure"), "config.embeddingConfig.provider"),
        (rag_emporix_tool_body("openai", model="m", dimensions=1536), "config.embeddingConfig.token"),
        (
            rag_emporix_tool_body("openai", model="m", dimensions=64, token={"id": "t1"}),
            "config.embeddingConfig.dimensions",
        ),
        (
            rag_emporix_tool_body("self_hosted_ollama", model="m", dimensions=768, token={"id": "t1"}),
            "config.embeddingConfig.url",
        ),
        (
            {**rag_emporix_tool_body(), "config": {**rag_emporix_tool_body()["config"], "indexedFields": []}},
            "config.indexedFields",
        ),
        (
            {
                **rag_emporix_tool_body(),
                "config": {**rag_emporix_tool_body()["config"], "indexedFields": [{"name": "n"}]},
            },
            "config.indexedFields.0.key",
        ),
    ],
)
def test_an_invalid_tool_of_another_type_is_a_400_naming_the_field(manager, tenant, body, field):
    create(tenant, Kind.TOKEN, "t1", token_body())
    assert_bad_request(put(manager, TOOL, "bad", body), field)
    assert not exists(tenant, TOOL, "bad")


def test_a_hosted_embedding_with_an_existing_token_is_accepted(manager, tenant):
    create(tenant, Kind.TOKEN, "t1", token_body())
    body = rag_emporix_tool_body("openai", model="text-embedding-3-large", dimensions=1536, token={"id": "t1"})
    assert put(manager, TOOL, "orders", body).status_code == 201
    assert references(tenant) == {("tool", "orders", "token", "t1")}


def test_fields_the_api_does_not_know_are_dropped_at_every_level(manager, tenant):
    create(tenant, Kind.TOKEN, "t1", token_body())
    body = rag_tool_body("t1")
    body["colour"] = "blue"
    body["config"]["databaseConfig"]["token"]["name"] = "expanded by a client"
    body["config"]["debug"] = True
    slack = slack_tool_body()
    slack["config"]["botToken"] = "xoxb-a-raw-secret"
    assert put(manager, TOOL, "rag", body).status_code == 201
    assert put(manager, TOOL, "slack", slack).status_code == 201
    rag_body = stored(tenant, TOOL, "rag").body
    assert "colour" not in rag_body and "debug" not in rag_body["config"]
    assert rag_body["config"]["databaseConfig"]["token"] == {"id": "t1"}
    assert "botToken" not in stored(tenant, TOOL, "slack").body["config"]
    assert b"xoxb-a-raw-secret" not in manager.get(url(TOOL, "slack")).content


def test_a_null_in_an_optional_field_means_absent(manager, tenant):
    body = {**slack_tool_body(), "enabled": None, "config": {"teamId": "T1", "defaultInboundAgentId": None}}
    assert put(manager, TOOL, "slack", body).status_code == 201
    assert stored(tenant, TOOL, "slack").body == {
        "type": "slack",
        "name": "Slack",
        "enabled": False,
        "config": {"teamId": "T1"},
    }


def test_a_token_of_another_tenant_cannot_be_referenced(manager, tenant, other_tenant):
    create(other_tenant, Kind.TOKEN, "globex-key", token_body())
    assert_bad_request(put(manager, TOOL, "rag", rag_tool_body("globex-key")), "config.databaseConfig.token.id")
    assert not exists(tenant, TOOL, "rag")


def test_an_id_too_long_to_store_is_a_400(manager, tenant):
    assert_bad_request(put(manager, TOOL, "x" * 256, slack_tool_body()), "id")
    assert put(manager, TOOL, "x" * 255, slack_tool_body()).status_code == 201


def test_an_id_with_a_nul_character_is_refused_and_found_nowhere(manager, tenant):
    assert_bad_request(put(manager, TOOL, "a%00b", slack_tool_body()), "id")
    assert manager.get(url(TOOL, "a%00b")).status_code == 404
    assert manager.delete(url(TOOL, "a%00b")).status_code == 404


# Delete


def test_deleting_an_unused_tool_drops_it_and_its_references(manager, tenant, acme_tool):
    assert manager.delete(url(TOOL, "tool1")).status_code == 204
    assert not exists(tenant, TOOL, "tool1")
    assert references(tenant) == set()
    assert manager.get(url(TOOL, "tool1")).status_code == 404


def test_a_tool_an_agent_uses_is_not_deleted_and_the_400_names_the_agent(manager, tenant, acme_tool):
    create(tenant, Kind.AGENT, "a1", agent_body("t1", name="Support", tools=("tool1",)))
    response = manager.delete(url(TOOL, "tool1"))
    assert_bad_request(response, "force", "agent a1 (Support)")
    assert exists(tenant, TOOL, "tool1")


def test_force_deletes_a_used_tool_and_removes_it_from_the_agents_native_tools(manager, tenant, acme_tool):
    create(tenant, TOOL, "tool2", slack_tool_body())
    create(tenant, Kind.AGENT, "a1", agent_body("t1", tools=("tool1", "tool2")))
    assert manager.delete(url(TOOL, "tool1", force="true")).status_code == 204
    agent = manager.get(url(Kind.AGENT, "a1")).body
    assert agent["nativeTools"] == [{"id": "tool2"}]
    assert agent["metadata"]["version"] == 2
    assert references(tenant) == {("agent", "a1", "token", "t1"), ("agent", "a1", "tool", "tool2")}


# Lists


@pytest.fixture
def tools(tenant: Any) -> None:
    create(tenant, Kind.TOKEN, "t1", token_body())
    create(tenant, TOOL, "r1", rag_tool_body("t1", name="Products"))
    create(tenant, TOOL, "s1", slack_tool_body("Sales Slack"))
    create(tenant, TOOL, "m1", teams_tool_body())


@pytest.mark.parametrize(
    "q, expected",
    [
        ("type:rag_custom", ["r1"]),
        ("type:SLACK", ["s1"]),
        ("type:(slack,teams)", ["m1", "s1"]),
        ("enabled:true", ["r1"]),
        ("enabled:FALSE", ["m1", "s1"]),
        ("enabled:(true,false)", ["m1", "r1", "s1"]),
        ("name:~sla", ["s1"]),
        ("enabled:false name:Teams", ["m1"]),
        ("metadata.version:1", ["m1", "r1", "s1"]),
        ("enabled:null", []),
    ],
)
def test_tools_are_searched_by_type_enabled_and_name(manager, tools, q, expected):
    assert ids(manager.get(url(TOOL, q=q, sort="id"))) == expected
    assert ids(search(manager, TOOL, q)) == sorted(expected, key=["m1", "s1", "r1"].index)  # newest first


@pytest.mark.parametrize(
    "q, field", [("type:email", "type"), ("enabled:maybe", "enabled"), ("enabled:>true", "enabled")]
)
def test_a_bad_value_in_q_is_a_400_naming_the_field(manager, tools, q, field):
    response = manager.get(url(TOOL, q=q))
    assert_bad_request(response, "q", field)


def test_tools_are_sorted_by_type_then_name(manager, tools):
    assert ids(manager.get(url(TOOL, sort="type,name:desc"))) == ["r1", "s1", "m1"]
    assert ids(manager.get(url(TOOL, sort="enabled:desc,id"))) == ["r1", "m1", "s1"]


def test_fields_pick_parts_of_the_configuration(manager, tools):
    response = manager.get(url(TOOL, q="id:r1", fields="config.databaseConfig.url,type"))
    assert response.body == [
        {"id": "r1", "type": "rag_custom", "config": {"databaseConfig": {"url": "https://vectors.example.com"}}}
    ]
    assert_bad_request(manager.get(url(TOOL, fields="colour")), "fields")


def test_the_total_is_counted_only_when_asked(manager, tools):
    response = manager.get(url(TOOL, q="enabled:false", pageSize="1"), HTTP_X_TOTAL_COUNT="true")
    assert (len(response.body), response["X-Total-Count"]) == (1, "2")
    assert "X-Total-Count" not in manager.get(url(TOOL))


# Tenant isolation


def test_another_tenant_never_sees_lists_counts_gets_or_deletes_acmes_tools(outsider, tenant, acme_tool):
    response = outsider.get(url(TOOL, tenant="globex"), HTTP_X_TOTAL_COUNT="true")
    assert (response.body, response["X-Total-Count"]) == ([], "0")
    assert search(outsider, TOOL, "type:rag_custom", tenant="globex").body == []
    assert outsider.get(url(TOOL, "tool1", tenant="globex")).status_code == 404
    assert outsider.delete(url(TOOL, "tool1", tenant="globex", force="true")).status_code == 404
    assert_untouched(tenant)


def test_another_tenant_upserting_the_same_id_creates_its_own_tool(outsider, tenant, other_tenant, acme_tool):
    assert put(outsider, TOOL, "tool1", slack_tool_body(), tenant="globex").status_code == 201
    assert_untouched(tenant)
    assert stored(other_tenant, TOOL, "tool1").type == "slack"

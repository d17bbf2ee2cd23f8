"""/ai-service/{tenant}/agentic/agents: creating and replacing an agent, its validation and its references."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.agents import services
from apps.agents.models import Kind
from tests.agents.conftest import (
    EVERYTHING_A1_USES,
    Catalogue,
    agent_body,
    assert_bad_request,
    assert_untouched,
    create,
    exists,
    ids,
    put,
    references,
    search,
    slack_tool_body,
    stored,
    url,
)

AGENT = Kind.AGENT


def test_creating_an_agent_answers_201_and_fills_in_the_defaults(manager, tenant, catalogue):
    body = agent_body("t1", name="Sales", tools=("tool1",))
    for optional in ("enabled", "type", "description", "agentCollaborations"):
        del body[optional]
    response = put(manager, AGENT, "sales", body)
    assert (response.status_code, response.body) == (201, {"id": "sales"})
    agent = manager.get(url(AGENT, "sales")).body
    assert (agent["maxRecursionLimit"], agent["enabledMemory"], agent["enabled"]) == (20, False, False)
    assert agent["name"] == {"en": "Sales", "de": "Sales (de)"}
    assert agent["nativeTools"] == [{"id": "tool1"}]
    assert "type" not in agent and "description" not in agent
    assert agent["metadata"]["version"] == 1
    row = stored(tenant, AGENT, "sales")
    assert (row.name, row.enabled, row.agent_type) == ("Sales", False, None)


def test_the_searched_name_is_the_english_one_else_the_first(manager, tenant, catalogue):
    put(manager, AGENT, "de", {**agent_body("t1"), "name": {"de": "Kundendienst", "fr": "Service"}})
    assert stored(tenant, AGENT, "de").name == "Kundendienst"
    assert ids(manager.get(url(AGENT, q="name:Kundendienst"))) == ["de"]


def test_an_agent_with_every_optional_part_keeps_them(manager, tenant, catalogue):
    body = agent_body(
        "t1",
        requiredScopes=["employee", "integration"],
        icon="fa-robot",
        tags=["refunds"],
        outputFormat='{"type":"object"}',
        handOff=False,
        enabledMemory=True,
        maxRecursionLimit=50,
        triggers=[
            {"type": "endpoint"},
            {
                "type": "commerce_events",
                "config": {
                    "events": ["order.created"],
                    "filter": {
                        "op": "$and",
                        "conditions": [
                            {"left": "payload.order.currency", "op": "$in", "right": ["USD", "EUR"]},
                            {"left": "payload.order.email", "op": "$notEmpty"},
                        ],
                    },
                },
            },
        ],
        llmConfig={
            "provider": "self_hosted_ollama",
            "model": "llama3",
            "baseProvider": "OPENAI",
            "selfHostedParams": {
                "url": "http://ollama:11434",
                "authorizationHeaderName": "Authorization",
                "authorizationHeaderToken": {"id": "t1"},
            },
        },
    )
    assert put(manager, AGENT, "full", body).status_code == 201
    agent = manager.get(url(AGENT, "full")).body
    for key in ("requiredScopes", "icon", "tags", "outputFormat", "handOff", "triggers", "llmConfig"):
        assert agent[key] == body[key], key
    assert ("agent", "full", "token", "t1") in references(tenant)


def test_replacing_an_agent_answers_204_and_rewrites_its_references(manager, tenant, catalogue):
    assert references(tenant) >= EVERYTHING_A1_USES
    body = {**agent_body("t1", name="Support", tools=("tool1",)), "metadata": {"version": 1}}
    assert put(manager, AGENT, "a1", body).status_code == 204
    a1_uses = {ref for ref in references(tenant) if ref[1] == "a1"}
    assert a1_uses == {("agent", "a1", "token", "t1"), ("agent", "a1", "tool", "tool1")}
    assert manager.get(url(AGENT, "a1")).body["metadata"]["version"] == 2


def test_a_stale_metadata_version_is_a_409_that_changes_nothing(manager, tenant, catalogue):
    response = put(manager, AGENT, "a1", {**agent_body("t1", name="Late"), "metadata": {"version": 2}})
    assert response.status_code == 409
    assert response.body["status"] == "Conflict"
    assert_untouched(tenant)
    assert references(tenant) >= EVERYTHING_A1_USES


def test_a_version_on_a_new_agent_is_ignored(manager, tenant, catalogue):
    assert put(manager, AGENT, "new", {**agent_body("t1"), "metadata": {"version": 9}}).status_code == 201
    assert stored(tenant, AGENT, "new").version == 1


def _without(key: str) -> dict[str, Any]:
    body = agent_body("t1")
    del body[key]
    return body


def _with(**changes: Any) -> dict[str, Any]:
    return {**agent_body("t1"), **changes}


@pytest.mark.parametrize(
    "body, field",
    [
        (_without("name"), "name"),
        (_with(name={}), "name"),
        (_with(name="Support"), "name"),
        (_with(name={"en": ""}), "name.en"),
        (_with(name={"en": {"text": "x"}}), "name.en"),
        (_with(name={"not a language": "x"}), "name"),
        (_with(description={"en": ["x"]}), "description.en"),
        (_without("userPrompt"), "userPrompt"),
        (_with(userPrompt=None), "userPrompt"),
        (_without("triggers"), "triggers"),
        (_with(triggers=[{"type": "cron"}]), "triggers.0.type"),
        (_with(triggers=[{"type": "commerce_events"}]), "triggers.0.config"),
        (_with(triggers=[{"type": "commerce_events", "config": {"events": []}}]), "triggers.0.config.events"),
        (
            _with(triggers=[{"type": "commerce_events", "config": {"events": ["x"], "filter": {"op": "$like"}}}]),
            "triggers.0.config.filter.left",
        ),
        (
            _with(
                triggers=[
                    {"type": "endpoint"},
                    {
                        "type": "commerce_events",
                        "config": {"events": "x", "filter": {"op": "$or", "conditions": [{"left": "a", "op": "$in"}]}},
                    },
                ]
            ),
            "triggers.1.config.filter.conditions.0.right",
        ),
        (_without("llmConfig"), "llmConfig"),
        (_with(llmConfig={"provider": "openai", "model": "gpt"}), "llmConfig.token"),
        (_with(llmConfig={"provider": "mistral", "model": "m"}), "llmConfig.provider"),
        (_with(llmConfig={"model": "m"}), "llmConfig.provider"),
        (_with(llmConfig={"provider": "emporix_openai"}), "llmConfig.model"),
        (_with(llmConfig={"provider": "emporix_openai", "model": "m", "temperature": 0}), "llmConfig.temperature"),
        (_with(llmConfig={"provider": "self_hosted_vllm", "model": "m"}), "llmConfig.selfHostedParams"),
        (_without("mcpServers"), "mcpServers"),
        (_with(mcpServers=[{"type": "predefined"}]), "mcpServers.0.domain"),
        (_with(mcpServers=[{"type": "predefined", "domain": "billing"}]), "mcpServers.0.domain"),
        (_with(mcpServers=[{"type": "custom"}]), "mcpServers.0.mcpServer"),
        (_with(mcpServers=[{"domain": "order"}]), "mcpServers.0.type"),
        (_with(nativeTools=[{"allowedOperations": ["sendMessage"]}]), "nativeTools.0.id"),
        (_with(nativeTools=[{"id": "tool1", "allowedOperations": ["fly"]}]), "nativeTools.0.allowedOperations.0"),
        (_with(agentCollaborations=[{"description": "who?"}]), "agentCollaborations.0.agentId"),
        (_with(maxRecursionLimit=0), "maxRecursionLimit"),
        (_with(maxRecursionLimit=51), "maxRecursionLimit"),
        (_with(type="sales"), "type"),
        (_with(requiredScopes=["admin"]), "requiredScopes.0"),
        (_with(outputFormat="{not json"), "outputFormat"),
        (_with(outputFormat="[" * 100_000), "outputFormat"),  # too deep for the JSON reader: a 500 before
        (_with(enabled="maybe"), "enabled"),
    ],
)
def test_an_invalid_agent_is_a_400_naming_the_field(manager, tenant, catalogue, body, field):
    assert_bad_request(put(manager, AGENT, "bad", body), field)
    assert not exists(tenant, AGENT, "bad")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"nativeTools": [{"id": "tool1"}, {"id": "nope"}]}, "nativeTools.1.id"),
        ({"mcpServers": [{"type": "custom", "mcpServer": {"id": "nope"}}]}, "mcpServers.0.mcpServer.id"),
        ({"mcpServers": [{"type": "dynamic", "mcpServer": {"id": "nope"}}]}, "mcpServers.0.mcpServer.id"),
        ({"agentCollaborations": [{"agentId": "nope"}]}, "agentCollaborations.0.agentId"),
        ({"llmConfig": {"provider": "anthropic", "model": "claude", "token": {"id": "nope"}}}, "llmConfig.token.id"),
        ({"nativeTools": [{"id": "mcp1"}]}, "nativeTools.0.id"),  # an MCP server is not a tool
    ],
)
def test_every_referenced_resource_must_exist_in_the_tenant(manager, tenant, catalogue, change, field):
    response = put(manager, AGENT, "a1", {**agent_body("t1", name="Changed"), **change})
    assert_bad_request(response, field, "nope" if "nope" in str(change) else "mcp1")
    assert_untouched(tenant)
    assert references(tenant) >= EVERYTHING_A1_USES


def test_resources_of_another_tenant_cannot_be_referenced(manager, tenant, other_tenant, catalogue):
    Catalogue(other_tenant)
    create(other_tenant, Kind.TOOL, "globex-tool", slack_tool_body())
    assert_bad_request(put(manager, AGENT, "x", agent_body("t1", tools=("globex-tool",))), "nativeTools.0.id")
    assert not exists(tenant, AGENT, "x")


def test_an_agent_cannot_collaborate_with_itself(manager, tenant, catalogue):
    assert_bad_request(
        put(manager, AGENT, "solo", agent_body("t1", collaborators=("solo",))), "agentCollaborations.0.agentId"
    )
    assert_bad_request(
        put(manager, AGENT, "a1", agent_body("t1", collaborators=("a1",))), "agentCollaborations.0.agentId"
    )
    assert_untouched(tenant)


def test_fields_the_api_does_not_know_are_dropped_at_every_level(manager, tenant, catalogue):
    body = agent_body("t1", tools=("tool1",))
    body |= {"id": "other", "templatePrompt": "from a template", "createdBy": "someone"}
    body["llmConfig"] |= {"apiKey": "sk-raw-key-from-an-old-client", "stream": True}
    body["nativeTools"][0] |= {"name": "expanded", "config": {"teamId": "T1"}}
    body["triggers"][0]["config"] = {"events": ["ignored for endpoint triggers"]}
    assert put(manager, AGENT, "extra", body).status_code == 201
    stored_body = stored(tenant, AGENT, "extra").body
    assert not {"id", "templatePrompt", "createdBy"} & set(stored_body)
    assert stored_body["llmConfig"] == agent_body("t1")["llmConfig"]
    assert stored_body["nativeTools"] == [{"id": "tool1"}]
    assert stored_body["triggers"] == [{"type": "endpoint"}]
    assert b"sk-raw-key-from-an-old-client" not in manager.get(url(AGENT, "extra")).content


def test_a_null_in_an_optional_field_means_absent(manager, tenant, catalogue):
    body = _with(description=None, type=None, maxRecursionLimit=None, nativeTools=None, icon=None)
    assert put(manager, AGENT, "nulls", body).status_code == 201
    agent = manager.get(url(AGENT, "nulls")).body
    assert agent["maxRecursionLimit"] == 20
    assert not {"description", "type", "nativeTools", "icon"} & set(agent)


_INFINITE_RIGHT = {
    "triggers": [
        {"type": "commerce_events", "config": {"events": "e", "filter": {"left": "a", "op": "$eq", "right": "INF"}}}
    ]
}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"name": {"en": "a\x00b"}}, "name.en"),
        ({"name": {"en": "a\ud800b"}}, "name.en"),
        ({"name": {"\ud800": "x"}}, "name"),
        (_INFINITE_RIGHT, "triggers.0.config.filter.right"),  # 1e999 parses as infinity
        ({"type": "\ud800"}, "type"),  # quoted in the error message, which must still render
        ({"requiredScopes": ["\udfff"]}, "requiredScopes.0"),
    ],
)
def test_text_and_numbers_a_database_cannot_store_are_a_400(manager, tenant, catalogue, change, field):
    raw = json.dumps({**agent_body("t1"), **change}).replace('"INF"', "1e999")
    response = manager.put(url(AGENT, "odd"), raw, content_type="application/json")
    assert_bad_request(response, field)
    assert not exists(tenant, AGENT, "odd")


@pytest.mark.parametrize("kind", [AGENT, Kind.TOKEN])
def test_a_body_nested_too_deeply_is_a_400_not_a_500(manager, catalogue, kind):
    deep = "[" * 5000 + "]" * 5000
    for response in (
        manager.put(url(kind, "deep"), deep, content_type="application/json"),
        manager.post(url(kind, "search"), deep, content_type="application/json"),
    ):
        assert response.status_code == 400
        assert "nested too deeply" in response.body["message"]


def test_text_is_stored_exactly_as_sent(manager, tenant, catalogue):
    body = _with(userPrompt="  Step 1.\n  Step 2.\n", name={"en": " Padded "})
    put(manager, AGENT, "spaces", body)
    agent = manager.get(url(AGENT, "spaces")).body
    assert (agent["userPrompt"], agent["name"]) == ("  Step 1.\n  Step 2.\n", {"en": " Padded "})


def test_an_id_named_search_is_an_ordinary_agent_on_its_own_path(manager, tenant, catalogue):
    assert put(manager, AGENT, "search", agent_body("t1", name="Finder")).status_code == 201
    assert manager.get(url(AGENT, "search")).body["name"]["en"] == "Finder"
    assert "search" in ids(search(manager, AGENT, "name:Finder"))
    assert manager.delete(url(AGENT, "search")).status_code == 204
    assert not exists(tenant, AGENT, "search")


def test_two_creates_of_the_same_id_at_once_end_in_a_409_for_the_second(tenant, catalogue):
    with pytest.raises(services.VersionConflict):
        services._create(tenant, AGENT, "a1", {"name": {"en": "Twin"}}, None)
    assert_untouched(tenant)

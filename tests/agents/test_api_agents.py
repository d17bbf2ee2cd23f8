"""/ai-service/{tenant}/agentic/agents: access, upsert and validation, references, delete, lists, isolation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.agents import services
from apps.agents.models import Agent, Kind
from tests.agents.conftest import (
    Catalogue,
    access_operations,
    agent_body,
    assert_bad_request,
    assert_forbidden,
    assert_unauthorized,
    client_with,
    create,
    custom_mcp_body,
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
from tests.conftest import MANAGE, READ

AGENT = Kind.AGENT
OPERATIONS = access_operations("a1", agent_body("t1", name="Renamed"))
EVERYTHING_A1_USES = {
    ("agent", "a1", "token", "t1"),
    ("agent", "a1", "tool", "tool1"),
    ("agent", "a1", "mcp_server", "mcp1"),
    ("agent", "a1", "agent", "helper"),
}


@pytest.fixture(params=list(OPERATIONS))
def operation(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def assert_untouched(tenant: Any) -> None:
    agent = stored(tenant, AGENT, "a1")
    assert (agent.name, agent.version) == ("Support", 1)


# Access


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


# Upsert


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


# Delete


def test_deleting_an_agent_drops_the_references_it_had(manager, tenant, catalogue):
    assert manager.delete(url(AGENT, "a1")).status_code == 204
    assert not {ref for ref in references(tenant) if ref[1] == "a1"}
    assert manager.get(url(AGENT, "a1")).status_code == 404


def test_an_agent_another_agent_collaborates_with_is_not_deleted_without_force(manager, tenant, catalogue):
    response = manager.delete(url(AGENT, "helper"))
    assert_bad_request(response, "force", "agent a1 (Support)")
    assert "helper" in response.body["message"]
    assert exists(tenant, AGENT, "helper")


def test_force_deletes_a_collaborator_and_removes_it_from_the_others(manager, tenant, catalogue):
    assert manager.delete(url(AGENT, "helper", force="true")).status_code == 204
    a1 = manager.get(url(AGENT, "a1")).body
    assert a1["agentCollaborations"] == []
    assert a1["nativeTools"] == [{"id": "tool1"}]
    assert a1["metadata"]["version"] == 2
    assert references(tenant) >= EVERYTHING_A1_USES - {("agent", "a1", "agent", "helper")}
    assert not any("helper" in ref for ref in references(tenant))


def test_the_in_use_message_names_every_dependant_up_to_a_limit(manager, tenant, catalogue):
    for n in range(12):
        create(tenant, AGENT, f"user{n:02d}", agent_body("t1", name=f"User {n}", tools=("tool1",)))
    response = manager.delete(url(Kind.TOOL, "tool1"))
    assert response.status_code == 400
    assert "and 3 more" in response.body["message"]
    assert len(response.body["details"]) == 13


def test_deleting_an_unknown_agent_is_a_404_naming_it(manager, catalogue):
    response = manager.delete(url(AGENT, "ghost", force="true"))
    assert response.status_code == 404
    assert response.body["resourceId"] == "ghost"
    assert response.body["message"] == "Agent with id ghost not found."


def test_getting_an_unknown_agent_is_a_404_naming_it(manager, catalogue):
    response = manager.get(url(AGENT, "ghost"))
    assert (response.status_code, response.body["resourceId"]) == (404, "ghost")


# Lists


BASE = datetime(2025, 11, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def agents(tenant: Any) -> None:
    create(tenant, Kind.TOKEN, "t1", token_body())
    for n, (public_id, name, agent_type, enabled) in enumerate(
        [("g1", "Generic", "generic", True), ("s1", "Support", "support", False), ("c1", "Complaints", None, True)]
    ):
        body = agent_body("t1", name=name, enabled=enabled, type=agent_type)
        if agent_type is None:
            del body["type"]
        create(tenant, AGENT, public_id, body)
        Agent.objects.filter(public_id=public_id).update(created_at=BASE + timedelta(minutes=n))


@pytest.mark.parametrize(
    "q, expected",
    [
        ("", ["c1", "s1", "g1"]),
        ("name:Support", ["s1"]),
        ("name:~PLAIN", ["c1"]),
        ('name:"Generic"', ["g1"]),
        ("type:SUPPORT", ["s1"]),
        ("type:(generic,support)", ["s1", "g1"]),
        ("type:null", ["c1"]),
        ("type:exists", ["s1", "g1"]),
        ("enabled:true", ["c1", "g1"]),
        ("enabled:true type:generic", ["g1"]),
        ("id:(g1,c1)", ["c1", "g1"]),
        ('metadata.createdAt:>="2025-11-04T12:01:00Z"', ["c1", "s1"]),
        ('metadata.createdAt:(>"2025-11-04T12:00:00Z" AND <"2025-11-04T12:02:00Z")', ["s1"]),
        ("metadata.version:>1", []),
    ],
)
def test_agents_are_searched_newest_first(manager, agents, q, expected):
    assert ids(manager.get(url(AGENT, q=q))) == expected
    assert ids(search(manager, AGENT, q)) == expected


@pytest.mark.parametrize(
    "q, fragment",
    [("name", "':'"), ("type:sales", "allowed values"), ("userPrompt:x", "searchable fields"), ('name:"open', "quote")],
)
def test_a_bad_q_is_a_400_naming_the_problem(manager, agents, q, fragment):
    assert_bad_request(manager.get(url(AGENT, q=q)), "q", fragment)
    assert_bad_request(search(manager, AGENT, q), "q", fragment)


def test_a_search_body_must_be_an_object_with_a_string_q(manager, agents):
    assert_bad_request(manager.post(url(AGENT, "search"), [], content_type="application/json"), "body")
    assert_bad_request(manager.post(url(AGENT, "search"), {"q": 7}, content_type="application/json"), "q")
    assert ids(manager.post(url(AGENT, "search"), {}, content_type="application/json")) == ["c1", "s1", "g1"]


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("name", ["c1", "g1", "s1"]),
        ("name:desc", ["s1", "g1", "c1"]),
        ("metadata.createdAt", ["g1", "s1", "c1"]),
        ("enabled,name:desc", ["s1", "g1", "c1"]),
        ("id:DESC", ["s1", "g1", "c1"]),
    ],
)
def test_agents_are_sorted_by_the_sort_keys(manager, agents, sort, expected):
    assert ids(manager.get(url(AGENT, sort=sort))) == expected


def test_an_unknown_sort_field_is_a_400(manager, agents):
    assert_bad_request(manager.get(url(AGENT, sort="userPrompt")), "sort")


def test_fields_pick_top_level_and_nested_parts(manager, agents):
    response = manager.get(url(AGENT, q="id:g1", fields="name.en,enabled,metadata.version"))
    assert response.body == [
        {
            "id": "g1",
            "name": {"en": "Generic"},
            "enabled": True,
            "metadata": manager.get(url(AGENT, "g1")).body["metadata"],
        }
    ]
    one = manager.get(url(AGENT, "g1", fields="llmConfig.model,userPrompt")).body
    assert one == {"id": "g1", "llmConfig": {"model": "gpt-4.1-mini"}, "userPrompt": "Help the customer with orders."}


@pytest.mark.parametrize("fields", ["colour", "nativeTools.id", "metadata.owner"])
def test_an_unknown_field_in_fields_is_a_400(manager, agents, fields):
    assert_bad_request(manager.get(url(AGENT, fields=fields)), "fields")
    assert_bad_request(manager.get(url(AGENT, "g1", fields=fields)), "fields")


def test_pages_follow_each_other_without_gaps_or_overlaps_and_the_total_is_given(manager, agents):
    pages = [
        manager.get(url(AGENT, pageSize="2", pageNumber=str(n), sort="name"), HTTP_X_TOTAL_COUNT="true")
        for n in (1, 2, 3)
    ]
    assert [ids(page) for page in pages] == [["c1", "g1"], ["s1"], []]
    assert {page["X-Total-Count"] for page in pages} == {"3"}


@pytest.mark.parametrize("params", [{"pageSize": "0"}, {"pageSize": "1001"}, {"pageNumber": "-1"}, {"pageSize": "x"}])
def test_bad_paging_is_a_400_naming_the_parameter(manager, agents, params):
    assert_bad_request(manager.get(url(AGENT, **params)), next(iter(params)))


def test_deep_pages_are_read_in_two_steps_with_the_same_result(manager, tenant):
    Agent.objects.bulk_create(
        Agent(tenant=tenant, public_id=f"bulk-{n:04d}", name=f"Bulk {n}", body={"name": {"en": f"Bulk {n}"}})
        for n in range(1010)
    )
    deep = ids(manager.get(url(AGENT, sort="id", pageSize="500", pageNumber="3")))
    assert deep == [f"bulk-{n:04d}" for n in range(1000, 1010)]
    shallow = ids(manager.get(url(AGENT, sort="id:desc", pageSize="10")))
    assert shallow == [f"bulk-{n:04d}" for n in range(1009, 999, -1)]


# Tenant isolation


def test_another_tenant_never_sees_lists_counts_gets_or_deletes_acmes_agents(outsider, tenant, catalogue):
    response = outsider.get(url(AGENT, tenant="globex"), HTTP_X_TOTAL_COUNT="true")
    assert (response.body, response["X-Total-Count"]) == ([], "0")
    response = search(outsider, AGENT, "id:(a1,helper)", tenant="globex", HTTP_X_TOTAL_COUNT="true")
    assert (response.body, response["X-Total-Count"]) == ([], "0")
    assert outsider.get(url(AGENT, "a1", tenant="globex")).status_code == 404
    assert outsider.delete(url(AGENT, "a1", tenant="globex", force="true")).status_code == 404
    assert_untouched(tenant)


def test_the_same_ids_in_two_tenants_are_separate_agents_with_separate_references(
    manager, outsider, tenant, other_tenant, catalogue
):
    create(other_tenant, Kind.TOKEN, "t1", token_body("Globex key"))
    assert put(outsider, AGENT, "a1", agent_body("t1", name="Globex"), tenant="globex").status_code == 201
    assert manager.get(url(AGENT, "a1")).body["name"]["en"] == "Support"
    assert outsider.get(url(AGENT, tenant="globex")).body[0]["name"]["en"] == "Globex"
    assert outsider.delete(url(Kind.TOKEN, "t1", tenant="globex", force="true")).status_code == 204
    assert references(tenant) >= EVERYTHING_A1_USES
    assert manager.get(url(AGENT, "a1")).body["llmConfig"]["token"] == {"id": "t1"}


def test_a_tool_and_server_in_use_are_listed_by_their_own_kind(manager, tenant, catalogue):
    create(tenant, Kind.TOOL, "tool2", rag_tool_body("t1"))
    create(tenant, Kind.MCP_SERVER, "mcp2", custom_mcp_body())
    assert ids(manager.get(url(Kind.TOOL, sort="id"))) == ["tool1", "tool2"]
    assert ids(manager.get(url(Kind.MCP_SERVER, sort="id"))) == ["mcp1", "mcp2"]

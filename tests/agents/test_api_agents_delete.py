"""/ai-service/{tenant}/agentic/agents: deleting an agent, and one tenant's agents kept from another."""

from __future__ import annotations

from apps.agents.models import Kind
from tests.agents.conftest import (
    EVERYTHING_A1_USES,
    agent_body,
    assert_bad_request,
    assert_untouched,
    create,
    custom_mcp_body,
    exists,
    ids,
    put,
    rag_tool_body,
    references,
    search,
    token_body,
    url,
)

AGENT = Kind.AGENT


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

"""bundle_apply: the import rules, applied directly to a tenant (no job, no worker)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from apps.agents import importing
from apps.agents.bundle import bundle_collect
from apps.agents.importing import bundle_apply
from apps.agents.models import Agent, Kind, McpServer, Reference, Tool
from apps.tenants.models import Tenant
from tests.agents.conftest import (
    SECRET,
    agent_body,
    create,
    custom_mcp_body,
    dynamic_mcp_body,
    rag_tool_body,
    references,
    slack_tool_body,
    stored,
    token_body,
)

HEX24 = re.compile(r"[0-9a-f]{24}")
KEY = "t1"  # the id of the token every hand-written bundle entry uses, unless told otherwise


# --- bundles written by hand ---------------------------------------------------------------------------------------


def tool(public_id: str, token_id: str = KEY, name: str | None = None) -> dict[str, Any]:
    return {"id": public_id, **rag_tool_body(token_id, name=name or f"Search {public_id}")}


def slack(public_id: str, name: str = "Slack") -> dict[str, Any]:
    return {"id": public_id, **slack_tool_body(name)}


def teams(public_id: str, name: str = "Teams") -> dict[str, Any]:
    return {"id": public_id, "name": name, "type": "teams", "config": {"teamId": "T-teams"}}


def server(public_id: str, token_id: str | None = KEY, name: str | None = None) -> dict[str, Any]:
    return {"id": public_id, **custom_mcp_body(token_id, name=name or f"MCP {public_id}")}


def agent(public_id: str, token_id: str = KEY, **uses: Any) -> dict[str, Any]:
    uses.setdefault("name", f"Agent {public_id}")
    return {"id": public_id, **agent_body(token_id, **uses)}


def bundle(
    agents: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
    servers: list[dict[str, Any]] | None = None,
    tokens: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "formatVersion": 1,
        "agents": agents,
        "tools": tools or [],
        "mcpServers": servers or [],
        "tokens": [{"id": "t1", "name": "LLM key"}] if tokens is None else tokens,
    }


def outcome(result: dict[str, Any], section: str, public_id: str) -> dict[str, Any]:
    matches = [entry for entry in result["summary"][section] if entry["id"] == public_id]
    assert len(matches) == 1, result["summary"][section]
    return matches[0]


def codes(entry: dict[str, Any]) -> list[str]:
    return [detail["code"] for detail in entry.get("details", [])]


def detail(entry: dict[str, Any], code: str) -> dict[str, Any]:
    [found] = [d for d in entry.get("details", []) if d["code"] == code]
    return found


def fail_for(monkeypatch: pytest.MonkeyPatch, *failing_ids: str) -> None:
    """Writing the references of the given ids raises, after their row was inserted: the savepoint must take
    the row back too."""
    original = importing.references_add

    def references_add(*, tenant: Tenant, kind: Kind, public_id: str, body: dict[str, Any]) -> None:
        if public_id in failing_ids:
            raise RuntimeError(f"boom for {public_id}")
        original(tenant=tenant, kind=kind, public_id=public_id, body=body)

    monkeypatch.setattr(importing, "references_add", references_add)


@pytest.fixture
def globex(other_tenant: Tenant) -> Tenant:
    """The tenant imported into, holding the bundle's token t1."""
    create(other_tenant, Kind.TOKEN, "t1", token_body("Globex LLM key"))
    return other_tenant


@pytest.fixture
def snapshot() -> Callable[[Tenant], dict[str, Any]]:
    def take(tenant: Tenant) -> dict[str, Any]:
        return {
            model.__name__: list(model.objects.filter(tenant=tenant).order_by("pk").values())
            for model in (Agent, Tool, McpServer, Reference)
        }

    return take


# --- tools and MCP servers -------------------------------------------------------------------------------------------


def test_a_tool_and_server_the_tenant_has_by_id_are_reused_as_exists_and_left_unchanged(globex, snapshot):
    create(globex, Kind.TOKEN, "g-token", token_body("Globex own"))
    create(globex, Kind.TOOL, "tool1", rag_tool_body("g-token", name="Globex's own search"))
    create(globex, Kind.MCP_SERVER, "mcp1", custom_mcp_body("g-token", name="Globex's own MCP"))
    before = snapshot(globex)

    result = bundle_apply(
        tenant=globex,
        document=bundle(
            [], tools=[tool("tool1", name="Acme search")], servers=[server("mcp1", name="Acme MCP")], tokens=[]
        ),
    )

    reused_tool = outcome(result, "tools", "tool1")
    reused_server = outcome(result, "mcpServers", "mcp1")
    assert (reused_tool["state"], reused_server["state"]) == ("EXISTS", "EXISTS")
    assert reused_tool["details"] == [
        {
            "code": "ALREADY_EXISTS",
            "objectId": "tool1",
            "objectName": "Acme search",
            "message": "The tenant already has it; the existing one is used.",
        }
    ]
    assert codes(reused_server) == ["ALREADY_EXISTS"]
    assert snapshot(globex) == before
    assert stored(globex, Kind.TOOL, "tool1").name == "Globex's own search"


def test_an_agent_keeps_its_links_to_tools_and_servers_the_tenant_already_has(globex):
    create(globex, Kind.TOOL, "tool1", rag_tool_body("t1"))
    create(globex, Kind.MCP_SERVER, "mcp1", custom_mcp_body("t1"))

    bundle_apply(
        tenant=globex,
        document=bundle(
            [agent("a1", tools=("tool1",), servers=("mcp1",))], tools=[tool("tool1")], servers=[server("mcp1")]
        ),
    )

    imported = stored(globex, Kind.AGENT, "a1")
    assert imported.body["nativeTools"] == [{"id": "tool1"}]
    assert {"type": "custom", "mcpServer": {"id": "mcp1"}} in imported.body["mcpServers"]
    assert {("agent", "a1", "tool", "tool1"), ("agent", "a1", "mcp_server", "mcp1")} <= references(globex)


def test_new_tools_and_servers_whose_tokens_the_tenant_has_are_created_enabled(globex):
    document = bundle([], tools=[tool("tool1")], servers=[server("mcp1"), {"id": "dyn1", **dynamic_mcp_body()}])
    document["tools"][0]["enabled"] = False  # the rule, not the source's flag, decides

    result = bundle_apply(tenant=globex, document=document)

    assert [(o["id"], o["state"]) for o in result["summary"]["tools"] + result["summary"]["mcpServers"]] == [
        ("tool1", "ENABLED"),
        ("mcp1", "ENABLED"),
        ("dyn1", "ENABLED"),
    ]
    assert all("details" not in o for o in result["summary"]["tools"] + result["summary"]["mcpServers"])
    created_tool = stored(globex, Kind.TOOL, "tool1")
    assert created_tool.enabled and created_tool.body["enabled"] is True
    assert created_tool.type == "rag_custom" and created_tool.name == "Search tool1"
    assert "id" not in created_tool.body and "metadata" not in created_tool.body
    assert stored(globex, Kind.MCP_SERVER, "mcp1").enabled
    assert stored(globex, Kind.MCP_SERVER, "dyn1").type == "dynamic"


def test_new_tools_and_servers_whose_token_is_missing_are_created_disabled_naming_the_token(other_tenant):
    tokens = [{"id": "t-vec", "name": "Vector key"}, {"id": "t-mcp", "name": "MCP key"}]
    document = bundle(
        [], tools=[tool("tool1", token_id="t-vec")], servers=[server("mcp1", token_id="t-mcp")], tokens=tokens
    )

    result = bundle_apply(tenant=other_tenant, document=document)

    created_tool = outcome(result, "tools", "tool1")
    assert created_tool["state"] == "DISABLED"
    assert created_tool["details"] == [
        {
            "code": "MISSING_TOKEN",
            "objectId": "t-vec",
            "objectName": "Vector key",
            "message": "The tenant has no token t-vec; create it, then enable this.",
        }
    ]
    created_server = outcome(result, "mcpServers", "mcp1")
    assert created_server["state"] == "DISABLED"
    assert (
        detail(created_server, "MISSING_TOKEN")["objectId"],
        detail(created_server, "MISSING_TOKEN")["objectName"],
    ) == (
        "t-mcp",
        "MCP key",
    )
    for kind, public_id in ((Kind.TOOL, "tool1"), (Kind.MCP_SERVER, "mcp1")):
        row = stored(other_tenant, kind, public_id)
        assert row.enabled is False and row.body["enabled"] is False


def test_a_missing_token_the_bundle_does_not_name_is_reported_without_an_object_name(other_tenant):
    result = bundle_apply(tenant=other_tenant, document=bundle([], tools=[tool("tool1", token_id="t-x")], tokens=[]))

    missing = detail(outcome(result, "tools", "tool1"), "MISSING_TOKEN")
    assert missing["objectId"] == "t-x"
    assert "objectName" not in missing


def test_a_token_of_another_tenant_does_not_count_as_present(tenant, other_tenant):
    create(tenant, Kind.TOKEN, "t-vec", token_body())

    result = bundle_apply(tenant=other_tenant, document=bundle([], tools=[tool("tool1", token_id="t-vec")]))

    assert outcome(result, "tools", "tool1")["state"] == "DISABLED"


def test_a_server_without_a_token_is_created_enabled(other_tenant):
    result = bundle_apply(tenant=other_tenant, document=bundle([], servers=[server("mcp1", token_id=None)], tokens=[]))

    assert outcome(result, "mcpServers", "mcp1")["state"] == "ENABLED"


# --- Slack and Teams -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry, label", [(slack("chat1", "Team chat"), "Slack"), (teams("chat1", "Team chat"), "Microsoft Teams")]
)
def test_slack_and_teams_tools_are_not_created_and_their_agents_lose_them(globex, entry, label):
    document = bundle([agent("a1", tools=("chat1", "tool1"))], tools=[entry, tool("tool1")])

    result = bundle_apply(tenant=globex, document=document)

    chat = outcome(result, "tools", "chat1")
    assert chat["state"] == "TO_CREATE"
    assert chat["details"] == [
        {
            "code": "NOT_IMPORTABLE",
            "objectId": "chat1",
            "objectName": "Team chat",
            "message": f"{label} tools are bound to a workspace and cannot be imported; "
            "create this tool in the tenant.",
        }
    ]
    assert not Tool.objects.filter(tenant=globex, public_id="chat1").exists()
    imported = stored(globex, Kind.AGENT, "a1")
    assert imported.body["nativeTools"] == [{"id": "tool1"}]
    lost = detail(outcome(result, "agents", "a1"), "NOT_IMPORTABLE")
    assert (lost["objectId"], lost["objectName"]) == ("chat1", "Team chat")
    assert ("agent", "a1", "tool", "chat1") not in references(globex)


# --- agents ----------------------------------------------------------------------------------------------------------


def test_agents_are_always_created_disabled_saying_so(globex):
    document = bundle([agent("a1"), agent("a2", enabled=False)])
    assert document["agents"][0]["enabled"] is True

    result = bundle_apply(tenant=globex, document=document)

    for public_id in ("a1", "a2"):
        entry = outcome(result, "agents", public_id)
        assert entry["state"] == "DISABLED"
        assert entry["name"] == f"Agent {public_id}"
        assert entry["details"] == [
            {
                "code": "AGENT_IMPORTED_DISABLED",
                "objectId": public_id,
                "objectName": f"Agent {public_id}",
                "message": "Imported agents start disabled.",
            }
        ]
        row = stored(globex, Kind.AGENT, public_id)
        assert row.enabled is False and row.body["enabled"] is False
        assert row.agent_type == "support" and row.name == f"Agent {public_id}"


def test_an_agent_whose_llm_token_is_missing_says_so_too(other_tenant):
    result = bundle_apply(tenant=other_tenant, document=bundle([agent("a1")]))

    assert codes(outcome(result, "agents", "a1")) == ["MISSING_TOKEN", "AGENT_IMPORTED_DISABLED"]
    assert detail(outcome(result, "agents", "a1"), "MISSING_TOKEN")["objectName"] == "LLM key"


def test_an_agent_whose_id_is_taken_gets_a_new_id_and_collaborations_in_the_bundle_follow_it(globex, snapshot):
    create(globex, Kind.AGENT, "helper", agent_body("t1", name="Globex's own helper"))
    before = snapshot(globex)
    document = bundle([agent("front", collaborators=("helper",)), agent("helper", name="Refunds")])

    result = bundle_apply(tenant=globex, document=document)

    [front, helper] = result["summary"]["agents"]
    assert front["id"] == "front"
    new_id = helper["id"]
    assert HEX24.fullmatch(new_id)
    assert helper["details"][0] == {
        "code": "ALREADY_EXISTS",
        "objectId": "helper",
        "objectName": "Refunds",
        "message": "An agent with id helper exists; imported as new.",
    }
    assert codes(helper) == ["ALREADY_EXISTS", "AGENT_IMPORTED_DISABLED"]
    assert detail(helper, "AGENT_IMPORTED_DISABLED")["objectId"] == new_id
    assert stored(globex, Kind.AGENT, new_id).name == "Refunds"
    assert stored(globex, Kind.AGENT, "front").body["agentCollaborations"][0]["agentId"] == new_id
    assert ("agent", "front", "agent", new_id) in references(globex)
    assert ("agent", "front", "agent", "helper") not in references(globex)
    # The agent that had the id is untouched.
    assert snapshot(globex)["Agent"][0] == before["Agent"][0]


def test_importing_the_same_bundle_twice_copies_the_agents_with_their_collaboration_between_the_copies(globex):
    document = bundle([agent("front", collaborators=("helper",)), agent("helper")])
    bundle_apply(tenant=globex, document=document)

    again = bundle_apply(tenant=globex, document=document)

    front_copy, helper_copy = (entry["id"] for entry in again["summary"]["agents"])
    assert {front_copy, helper_copy}.isdisjoint({"front", "helper"})
    assert stored(globex, Kind.AGENT, front_copy).body["agentCollaborations"][0]["agentId"] == helper_copy
    assert stored(globex, Kind.AGENT, "front").body["agentCollaborations"][0]["agentId"] == "helper"
    assert Agent.objects.filter(tenant=globex).count() == 4


def test_a_predefined_mcp_server_stays_on_the_agent(globex):
    bundle_apply(tenant=globex, document=bundle([agent("a1")]))

    assert stored(globex, Kind.AGENT, "a1").body["mcpServers"] == [
        {"type": "predefined", "domain": "order", "tools": ["get-order"]}
    ]


# --- failures --------------------------------------------------------------------------------------------------------


def test_a_tool_that_fails_is_failed_and_the_rest_of_the_import_goes_on(globex, monkeypatch, caplog):
    fail_for(monkeypatch, "tool-bad")
    document = bundle(
        [agent("a1", tools=("tool-bad", "tool-ok"))],
        tools=[tool("tool-bad", name="Broken search"), tool("tool-ok")],
        servers=[server("mcp1")],
    )

    with caplog.at_level(logging.ERROR, logger="apps.agents.importing"):
        result = bundle_apply(tenant=globex, document=document)

    bad = outcome(result, "tools", "tool-bad")
    assert bad == {
        "id": "tool-bad",
        "name": "Broken search",
        "state": "FAILED",
        "details": [
            {
                "code": "IMPORT_FAILED",
                "objectId": "tool-bad",
                "objectName": "Broken search",
                "message": "Could not be imported (RuntimeError); the rest of the import went on.",
            }
        ],
    }
    # Its row was inserted before the failure: the savepoint took it back.
    assert not Tool.objects.filter(tenant=globex, public_id="tool-bad").exists()
    assert outcome(result, "tools", "tool-ok")["state"] == "ENABLED"
    assert outcome(result, "mcpServers", "mcp1")["state"] == "ENABLED"
    assert outcome(result, "agents", "a1")["state"] == "DISABLED"
    assert stored(globex, Kind.AGENT, "a1").body["nativeTools"] == [{"id": "tool-ok"}]
    lost = [d for d in outcome(result, "agents", "a1")["details"] if d["objectId"] == "tool-bad"]
    assert len(lost) == 1 and "not imported" in lost[0]["message"]
    assert ("agent", "a1", "tool", "tool-bad") not in references(globex)
    # The traceback goes to the log, not into the result.
    assert any(record.exc_info and "tool-bad" in record.getMessage() for record in caplog.records)
    assert "boom" not in str(result)


def test_an_mcp_server_that_fails_is_dropped_from_the_agents_that_used_it(globex, monkeypatch):
    fail_for(monkeypatch, "mcp-bad")
    document = bundle([agent("a1", servers=("mcp-bad", "mcp-ok"))], servers=[server("mcp-bad"), server("mcp-ok")])

    result = bundle_apply(tenant=globex, document=document)

    assert outcome(result, "mcpServers", "mcp-bad")["state"] == "FAILED"
    assert not McpServer.objects.filter(tenant=globex, public_id="mcp-bad").exists()
    attachments = stored(globex, Kind.AGENT, "a1").body["mcpServers"]
    assert {"type": "custom", "mcpServer": {"id": "mcp-ok"}} in attachments
    assert all((item.get("mcpServer") or {}).get("id") != "mcp-bad" for item in attachments)
    lost = detail(outcome(result, "agents", "a1"), "IMPORT_FAILED")
    assert (lost["objectId"], lost["objectName"]) == ("mcp-bad", "MCP mcp-bad")


def test_an_agent_that_fails_is_failed_and_the_other_agents_are_imported(globex, monkeypatch):
    fail_for(monkeypatch, "a-bad")

    result = bundle_apply(tenant=globex, document=bundle([agent("a-bad", name="Broken"), agent("a-ok")]))

    bad = outcome(result, "agents", "a-bad")
    assert (bad["state"], bad["name"], codes(bad)) == ("FAILED", "Broken", ["IMPORT_FAILED"])
    assert not Agent.objects.filter(tenant=globex, public_id="a-bad").exists()
    assert outcome(result, "agents", "a-ok")["state"] == "DISABLED"
    assert Agent.objects.filter(tenant=globex, public_id="a-ok").exists()


def test_an_agent_never_points_at_a_collaborator_whose_import_failed(globex, monkeypatch):
    fail_for(monkeypatch, "helper")

    result = bundle_apply(
        tenant=globex, document=bundle([agent("helper", name="Refunds"), agent("front", collaborators=("helper",))])
    )

    assert outcome(result, "agents", "helper")["state"] == "FAILED"
    front = stored(globex, Kind.AGENT, "front")
    agents_here = set(Agent.objects.filter(tenant=globex).values_list("public_id", flat=True))
    collaborators = {item["agentId"] for item in front.body.get("agentCollaborations", [])}
    assert collaborators <= agents_here, f"front hands off to {collaborators - agents_here}, which do not exist"
    dangling = {target for _, _, kind, target in references(globex) if kind == "agent"} - agents_here
    assert not dangling


def test_a_tool_whose_id_the_column_cannot_hold_fails_and_so_does_an_agent_pointing_at_it(globex):
    long_id = "t" * 300
    document = bundle(
        [agent("a1", tools=(long_id, "tool-ok")), agent("a2", tools=("tool-ok",))],
        tools=[tool(long_id), tool("tool-ok")],
    )

    result = bundle_apply(tenant=globex, document=document)

    assert outcome(result, "tools", long_id)["state"] == "FAILED"
    assert codes(outcome(result, "tools", long_id)) == ["IMPORT_FAILED"]
    assert "at most 255 characters" in outcome(result, "tools", long_id)["details"][0]["message"]
    assert outcome(result, "tools", "tool-ok")["state"] == "ENABLED"
    # The API's PUT refuses a reference longer than any id: so does the import.
    assert outcome(result, "agents", "a1")["state"] == "FAILED"
    assert "nativeTools.0.id" in outcome(result, "agents", "a1")["details"][0]["message"]
    assert not Agent.objects.filter(tenant=globex, public_id="a1").exists()
    assert stored(globex, Kind.AGENT, "a2").body["nativeTools"] == [{"id": "tool-ok"}]


def test_a_name_longer_than_the_api_takes_fails_the_entity_naming_the_field(globex):
    long_name = "N" * 600

    result = bundle_apply(tenant=globex, document=bundle([], tools=[tool("tool1", name=long_name)]))

    assert outcome(result, "tools", "tool1")["state"] == "FAILED"
    assert (
        "name: Ensure this field has no more than 500 characters."
        in outcome(result, "tools", "tool1")["details"][0]["message"]
    )
    assert not Tool.objects.filter(tenant=globex, public_id="tool1").exists()


# --- references, the summary message, transactions ------------------------------------------------------------------


def test_references_are_written_for_what_was_created_and_only_for_that(globex):
    create(globex, Kind.TOOL, "tool-here", rag_tool_body("t1"))
    refs_before = references(globex)
    document = bundle(
        [agent("a1", tools=("tool-here", "tool-new", "slack1"), servers=("mcp1",), collaborators=("a2",)), agent("a2")],
        tools=[tool("tool-here", token_id="t-elsewhere"), tool("tool-new"), slack("slack1")],
        servers=[server("mcp1")],
    )

    bundle_apply(tenant=globex, document=document)

    assert references(globex) - refs_before == {
        ("tool", "tool-new", "token", "t1"),
        ("mcp_server", "mcp1", "token", "t1"),
        ("agent", "a1", "token", "t1"),
        ("agent", "a1", "tool", "tool-here"),
        ("agent", "a1", "tool", "tool-new"),
        ("agent", "a1", "mcp_server", "mcp1"),
        ("agent", "a1", "agent", "a2"),
        ("agent", "a2", "token", "t1"),
    }
    # The existing tool keeps its own references (not the bundle's token).
    assert ("tool", "tool-here", "token", "t-elsewhere") not in references(globex)


def test_the_message_counts_every_outcome(globex, monkeypatch):
    fail_for(monkeypatch, "tool-bad")
    create(globex, Kind.TOOL, "tool-here", rag_tool_body("t1"))
    document = bundle(
        [agent("a1"), agent("a2")],
        tools=[
            tool("tool-here"),
            tool("tool-new"),
            tool("tool-no-token", token_id="t-x"),
            slack("slack1"),
            tool("tool-bad"),
        ],
        servers=[server("mcp1"), server("mcp-no-token", token_id="t-y")],
    )

    result = bundle_apply(tenant=globex, document=document)

    assert result["message"] == (
        "2 agents imported (disabled); 4 tools or MCP servers created; 1 already existed; 1 must be created by hand; "
        "2 created disabled for a missing token; 1 entity failed."
    )


def test_the_message_of_a_plain_import_uses_the_singular(globex):
    result = bundle_apply(tenant=globex, document=bundle([agent("a1")], tools=[tool("tool1")]))

    assert result["message"] == "1 agent imported (disabled); 1 tool or MCP server created."


def test_failed_agents_are_not_counted_as_imported(globex, monkeypatch):
    fail_for(monkeypatch, "a1", "a2")

    result = bundle_apply(tenant=globex, document=bundle([agent("a1"), agent("a2"), agent("a3")]))

    assert result["message"] == "1 agent imported (disabled); 0 tools or MCP servers created; 2 entities failed."


def test_the_result_lists_every_entity_in_bundle_order(globex):
    document = bundle([agent("b"), agent("a")], tools=[tool("t2"), tool("t1")], servers=[server("m2"), server("m1")])

    summary = bundle_apply(tenant=globex, document=document)["summary"]

    assert {section: [entry["id"] for entry in entries] for section, entries in summary.items()} == {
        "agents": ["b", "a"],
        "tools": ["t2", "t1"],
        "mcpServers": ["m2", "m1"],
    }


def test_an_export_of_one_tenant_applies_to_another(tenant, globex):
    create(tenant, Kind.TOKEN, "t1", token_body(value=SECRET))
    create(tenant, Kind.TOOL, "tool1", rag_tool_body("t1"))
    create(tenant, Kind.TOOL, "slack1", slack_tool_body())
    create(tenant, Kind.MCP_SERVER, "mcp1", custom_mcp_body("t1"))
    create(tenant, Kind.AGENT, "helper", agent_body("t1", name="Refunds"))
    create(
        tenant,
        Kind.AGENT,
        "a1",
        agent_body("t1", tools=("tool1", "slack1"), servers=("mcp1",), collaborators=("helper",)),
    )

    result = bundle_apply(tenant=globex, document=bundle_collect(tenant=tenant, agent_ids=["a1"]))

    summary = result["summary"]
    assert sorted((o["id"], o["state"]) for o in summary["agents"]) == [("a1", "DISABLED"), ("helper", "DISABLED")]
    assert sorted((o["id"], o["state"]) for o in summary["tools"]) == [("slack1", "TO_CREATE"), ("tool1", "ENABLED")]
    assert summary["mcpServers"] == [{"id": "mcp1", "name": "Orders MCP", "state": "ENABLED"}]
    assert stored(globex, Kind.AGENT, "a1").body["agentCollaborations"][0]["agentId"] == "helper"
    assert stored(tenant, Kind.AGENT, "a1").enabled, "the source tenant is not changed"


def test_an_import_inside_a_transaction_that_is_rolled_back_leaves_nothing(globex, snapshot):
    before = snapshot(globex)
    document = bundle(
        [agent("a1", tools=("tool1",), servers=("mcp1",), collaborators=("a2",)), agent("a2")],
        tools=[tool("tool1"), slack("slack1")],
        servers=[server("mcp1")],
    )

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        bundle_apply(tenant=globex, document=document)
        assert Agent.objects.filter(tenant=globex).count() == 2
        raise Abandon

    assert snapshot(globex) == before

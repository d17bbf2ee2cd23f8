"""Ids chosen by clients: checked the same way on every road in (API PUT, console forms, imports, load_jobs), and
a row stored before they were checked (`broken/`, the finding) can still be listed, read and deleted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command

from apps.agents.importing import bundle_apply
from apps.agents.models import RESOURCE_MODELS, Agent, Kind, Reference, Tool
from apps.core.ids import ID_MAX_LENGTH, id_problem
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.agents.conftest import (
    agent_body,
    assert_bad_request,
    create,
    custom_mcp_body,
    exists,
    put,
    rag_tool_body,
    token_body,
    url,
)

BAD_IDS = {
    "dot-dot": "..",
    "dot": ".",
    "dot-dot-inside": "a/../b",
    "dot-inside": "a/./b",
    "trailing-slash": "x/",
    "leading-slash": "/x",
    "empty-segment": "a//b",
    "nul": "a\x00b",
    "newline": "a\nb",
    "tab": "a\tb",
    "delete-char": "a\x7fb",
    "too-long": "i" * (ID_MAX_LENGTH + 1),
}
GOOD_IDS = ["a/b", "team/support/v2", "...", "a..b", ".hidden", "i" * ID_MAX_LENGTH, "ünïcødé", "100%", "a b"]

BODIES = {
    Kind.AGENT: agent_body("t1"),
    Kind.TOOL: rag_tool_body("t1"),
    Kind.MCP_SERVER: custom_mcp_body("t1"),
    Kind.TOKEN: token_body(),
}


def in_path(public_id: str) -> str:
    """The id as a client puts it in a URL: percent-encoded, "/" included (the server decodes it before routing)."""
    return quote(public_id, safe="")


@pytest.fixture
def with_token(tenant: Tenant) -> Tenant:
    create(tenant, Kind.TOKEN, "t1", token_body())
    return tenant


def bad_row(tenant: Tenant, public_id: str = "broken/") -> Agent:
    """An agent stored before ids were checked, as the signed bundle of the finding made one."""
    body = agent_body("t1", name="Broken")
    return Agent.objects.create(tenant=tenant, public_id=public_id, name="Broken", body=body)


# --- the rule -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("public_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_the_rule_refuses_each_kind_of_bad_id_saying_why(public_id: str) -> None:
    assert id_problem(public_id)


@pytest.mark.parametrize("public_id", GOOD_IDS)
def test_the_rule_takes_opaque_ids_with_slashes_dots_and_any_printable_text(public_id: str) -> None:
    assert id_problem(public_id) is None


# --- the API --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("public_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_a_put_with_a_bad_id_is_a_400_naming_the_id_and_creates_nothing(
    manager: Any, with_token: Tenant, kind: Kind, public_id: str
) -> None:
    response = put(manager, kind, in_path(public_id), BODIES[kind])

    assert_bad_request(response, "id")
    # Compared in Python: PostgreSQL refuses a NUL even in a query.
    assert public_id not in RESOURCE_MODELS[kind].objects.filter(tenant=with_token).values_list("public_id", flat=True)


@pytest.mark.parametrize("kind", list(Kind))
def test_a_put_with_a_slash_inside_the_id_creates_it_under_that_id(manager: Any, with_token: Tenant, kind: Kind):
    public_id = "team/sub" if kind != Kind.TOKEN else "team/key"
    response = put(manager, kind, in_path(public_id), BODIES[kind])

    assert (response.status_code, response.body) == (201, {"id": public_id})
    assert manager.get(url(kind, in_path(public_id))).body["id"] == public_id


def test_an_existing_row_with_a_bad_id_is_read_and_deleted_through_the_api_but_not_replaced(
    manager: Any, with_token: Tenant
) -> None:
    bad_row(with_token)

    assert manager.get(url(Kind.AGENT, in_path("broken/"))).body["id"] == "broken/"
    assert_bad_request(put(manager, Kind.AGENT, in_path("broken/"), agent_body("t1")), "id")
    assert "broken/" in [agent["id"] for agent in manager.get(url(Kind.AGENT)).body]
    assert manager.delete(url(Kind.AGENT, in_path("broken/"))).status_code == 204
    assert not exists(with_token, Kind.AGENT, "broken/")


def test_a_trailing_slash_on_an_id_that_does_not_exist_is_a_404(manager: Any, with_token: Tenant) -> None:
    create(with_token, Kind.AGENT, "a1", agent_body("t1"))

    for method in ("get", "delete"):
        response = getattr(manager, method)(url(Kind.AGENT, "a1") + "/")
        assert (response.status_code, response.body["code"]) == (404, 404)
    assert exists(with_token, Kind.AGENT, "a1")


# --- imports --------------------------------------------------------------------------------------------------------


def bundle(agents: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "formatVersion": 1,
        "agents": agents,
        "tools": tools or [],
        "mcpServers": [],
        "tokens": [{"id": "t1", "name": "LLM key"}],
    }


def test_a_signed_bundle_with_an_agent_id_broken_slash_fails_that_agent_and_creates_nothing_invalid(
    with_token: Tenant,
) -> None:
    """Regression: it was created, and the tenant's console agents page answered 500 from then on."""
    document = bundle([{"id": "broken/", **agent_body("t1")}, {"id": "fine", **agent_body("t1")}])

    result = bundle_apply(tenant=with_token, document=document)

    (broken,) = [entry for entry in result["summary"]["agents"] if entry["id"] == "broken/"]
    assert broken["state"] == "FAILED"
    assert broken["details"][0]["code"] == "IMPORT_FAILED"
    assert 'id: An id cannot start or end with "/"' in broken["details"][0]["message"]
    assert not Agent.objects.filter(tenant=with_token, public_id="broken/").exists()
    assert not Reference.objects.filter(tenant=with_token, source_id="broken/").exists()
    assert Agent.objects.filter(tenant=with_token, public_id="fine").exists()


@pytest.mark.parametrize("public_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_every_bad_id_in_a_bundle_fails_its_entity_with_a_printable_detail(with_token: Tenant, public_id: str) -> None:
    document = bundle([{"id": "fine", **agent_body("t1")}], tools=[{"id": public_id, **rag_tool_body("t1")}])

    result = bundle_apply(tenant=with_token, document=document)

    (tool,) = result["summary"]["tools"]
    assert tool["state"] == "FAILED"
    # The summary goes into the job's JSON column, which PostgreSQL refuses with NUL or a lone surrogate in it.
    assert not any(ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF for c in json.dumps(result, ensure_ascii=False))
    assert not Tool.objects.filter(tenant=with_token).exists()


@pytest.mark.parametrize(
    "entry, field",
    [
        ({**agent_body("t1"), "llmConfig": {"provider": "nobody"}}, "llmConfig.provider"),
        ({**agent_body("t1"), "maxRecursionLimit": 10**30}, "maxRecursionLimit"),
        ({**agent_body("t1"), "userPrompt": "a\x00b"}, "userPrompt"),
        ({**agent_body("t1"), "name": {"en": "\ud800"}}, "name.en"),
        ({**agent_body("t1"), "outputFormat": "{not json"}, "outputFormat"),
    ],
)
def test_an_entity_the_apis_put_would_refuse_fails_naming_the_field(
    with_token: Tenant, entry: dict[str, Any], field: str
) -> None:
    result = bundle_apply(tenant=with_token, document=bundle([{"id": "a1", **entry}]))

    (agent,) = result["summary"]["agents"]
    assert agent["state"] == "FAILED"
    assert any(f"{field}: " in detail["message"] for detail in agent["details"]), agent["details"]
    assert not Agent.objects.filter(tenant=with_token).exists()


def test_an_import_stores_what_the_put_would_store_unknown_fields_dropped_defaults_filled(with_token: Tenant) -> None:
    entry = {"id": "a1", **agent_body("t1"), "secretSauce": {"x": 1}}

    bundle_apply(tenant=with_token, document=bundle([entry]))

    body = Agent.objects.get(tenant=with_token, public_id="a1").body
    assert "secretSauce" not in body
    assert (body["enabledMemory"], body["maxRecursionLimit"]) == (False, 20)


# --- load_jobs ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("public_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_load_jobs_refuses_a_job_with_a_bad_id_and_loads_nothing(tenant: Tenant, tmp_path: Path, public_id: str):
    job = {"id": public_id, "type": "EXPORT", "status": "success", "agentType": "support"}
    ok = {"id": "ok", "type": "EXPORT", "status": "success", "agentType": "support"}
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps([ok, job]), encoding="utf-8")

    with pytest.raises(CommandError, match="'id' is not usable"):
        call_command("load_jobs", tenant.name, str(path))
    assert not Job.objects.filter(tenant=tenant).exists()


@pytest.mark.parametrize("prefix", ["../x", "x/../y", "/a", "a//b", "p\x00", "p\n", "p" * 250])
def test_seed_agents_refuses_a_prefix_that_makes_bad_ids_and_creates_nothing(tenant: Tenant, prefix: str) -> None:
    with pytest.raises(CommandError, match="makes ids the API would refuse"):
        call_command("seed_agents", tenant.name, "--prefix", prefix)
    assert not Agent.objects.filter(tenant=tenant).exists()

"""The console's catalogue pages: creating and editing a resource from its JSON, with the API's validation and
version checks."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import ApiClient
from apps.agents.api.serializers import validate_upsert
from apps.agents.models import Kind, McpServer, Reference
from apps.agents.services import Upsert, resource_upsert
from apps.audit.models import AuditEvent
from apps.console.catalogue import services
from apps.tenants.models import Tenant
from tests.agents.conftest import (
    agent_body,
    custom_mcp_body,
    rag_tool_body,
    stored,
)
from tests.console.catalogue.helpers import (
    post_form,
)
from tests.console.catalogue_fixtures import (
    field_errors,
    html,
    page,
    page_errors,
    snapshot,
)


def test_a_manager_creates_an_agent_from_json(world: ApiClient, manager_client: Client, tenant: Tenant):
    body = agent_body("t1", name="Returns", tools=("tool1",))

    response = post_form(manager_client, "agents/new", {"public_id": "returns", "body": json.dumps(body)})

    assert response.status_code == 302
    assert response["Location"] == "/console/acme/agents/returns/"
    agent = stored(tenant, Kind.AGENT, "returns")
    assert agent.name == "Returns" and agent.body["nativeTools"] == [{"id": "tool1"}]
    assert Reference.objects.filter(tenant=tenant, source_id="returns", target_kind=Kind.TOOL).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.RESOURCE_SAVE)
    assert (event.object_id, event.detail, event.username) == (
        "returns",
        {"kind": "agent", "created": True},
        "mia-manager",
    )


def test_a_created_resource_without_an_id_gets_a_new_one(world: ApiClient, manager_client: Client, tenant: Tenant):
    response = post_form(manager_client, "mcp-servers/new", {"public_id": "", "body": json.dumps(custom_mcp_body())})

    assert response.status_code == 302
    created = McpServer.objects.get(tenant=tenant, name="Orders MCP", public_id__regex=r"^[0-9a-f]{24}$")
    assert response["Location"] == f"/console/acme/mcp-servers/{created.public_id}/"


@pytest.mark.parametrize(
    "path, body, expected",
    [
        (
            "agents/new",
            {k: v for k, v in agent_body("t1").items() if k != "llmConfig"},
            "llmConfig: This field is required.",
        ),
        ("agents/new", agent_body("t1", tools=("ghost",)), "nativeTools.0.id: No tool with id ghost in this tenant."),
        ("agents/new", agent_body("nokey"), "llmConfig.token.id: No token with id nokey in this tenant."),
        (
            "tools/new",
            rag_tool_body("t1") | {"config": rag_tool_body("t1")["config"] | {"maxResults": 0}},
            "config.maxResults: Ensure this value is greater than or equal to 1.",
        ),
        ("mcp-servers/new", custom_mcp_body() | {"transport": "carrier-pigeon"}, "transport:"),
        ("tools/new", ["not", "an", "object"], "The JSON must be an object"),
    ],
)
def test_the_create_form_shows_the_apis_validation_errors_naming_their_fields(
    path: str, body: Any, expected: str, world: ApiClient, manager_client: Client
):
    before = snapshot()

    response = post_form(manager_client, path, {"public_id": "brand-new", "body": json.dumps(body)})

    assert response.status_code == 400
    assert any(error.startswith(expected) for error in field_errors(html(response))), field_errors(html(response))
    assert snapshot() == before


def test_the_form_says_where_json_is_broken_and_keeps_the_text(world: ApiClient, manager_client: Client):
    response = post_form(manager_client, "agents/new", {"public_id": "x", "body": '{"name": {"en": "Half"'})

    assert response.status_code == 400
    assert any("not valid JSON" in error and "line 1" in error for error in field_errors(html(response)))
    assert "{&quot;name&quot;: {&quot;en&quot;: &quot;Half&quot;" in html(response)


def test_creating_an_id_that_exists_replaces_nothing(world: ApiClient, manager_client: Client, tenant: Tenant):
    before = snapshot()

    response = post_form(manager_client, "agents/new", {"public_id": "a1", "body": json.dumps(agent_body("t1"))})

    assert response.status_code == 400
    assert "There already is an agent with id a1; open it to edit it." in field_errors(html(response))
    assert snapshot() == before


def test_an_edit_saves_the_new_json_and_moves_the_version(world: ApiClient, manager_client: Client, tenant: Tenant):
    form = html(manager_client.get(page("agents/helper/edit")))
    assert 'name="version" value="1"' in form
    body = agent_body("t1", name="Refunds", userPrompt="Refund within 30 days.")

    response = post_form(manager_client, "agents/helper/edit", {"body": json.dumps(body), "version": "1"})

    assert response.status_code == 302
    assert response["Location"] == "/console/acme/agents/helper/"
    helper = stored(tenant, Kind.AGENT, "helper")
    assert (helper.version, helper.body["userPrompt"]) == (2, "Refund within 30 days.")
    event = AuditEvent.objects.get(action=AuditEvent.Action.RESOURCE_SAVE)
    assert event.detail == {"kind": "agent", "created": False}


def test_the_edit_form_starts_from_the_stored_json(world: ApiClient, manager_client: Client):
    text = html(manager_client.get(page("tools/tool1/edit")))

    textarea = re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', text, re.S)
    assert textarea is not None
    assert json.loads(unescape(textarea.group(1))) == rag_tool_body("t1")


def test_an_edit_of_a_version_someone_changed_meanwhile_is_refused_with_a_clear_conflict(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    body = agent_body("t1", name="Refunds", userPrompt="Mine.")
    # Someone else saves first, through the API's service.
    resource_upsert(tenant=tenant, kind=Kind.AGENT, public_id="helper", upsert=Upsert(agent_body("t1", name="Theirs")))

    response = post_form(manager_client, "agents/helper/edit", {"body": json.dumps(body), "version": "1"})

    assert response.status_code == 409
    errors = page_errors(html(response))
    assert any("someone else changed this agent" in e and "version 2" in e and "version 1" in e for e in errors)
    assert "Mine." in html(response)  # the text typed is kept
    assert 'href="/console/acme/agents/helper/edit"' in html(response)
    assert stored(tenant, Kind.AGENT, "helper").name == "Theirs"
    assert not AuditEvent.objects.exists()


def test_an_edit_of_a_resource_deleted_meanwhile_does_not_bring_it_back(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    manager_client.get(page("mcp-servers/mcp1/edit"))
    McpServer.objects.filter(tenant=tenant, public_id="mcp1").delete()

    response = post_form(manager_client, "mcp-servers/mcp1/edit", {"body": json.dumps(custom_mcp_body()), "version": 1})

    assert response.status_code == 404
    assert not McpServer.objects.filter(tenant=tenant, public_id="mcp1").exists()


def test_the_save_service_neither_replaces_on_create_nor_recreates_on_edit(
    world: ApiClient, tenant: Tenant, manager_user: Any
):
    """The races the pages' own checks cannot close: the id was taken, or the resource deleted, in between."""
    before = snapshot()
    upsert = validate_upsert(Kind.AGENT, agent_body("t1", name="Racer"))

    with pytest.raises(services.AlreadyExists):
        services.console_resource_save(
            user=manager_user, tenant=tenant, kind=Kind.AGENT, public_id="a1", upsert=upsert, create=True
        )
    with pytest.raises(services.ResourceGone):
        services.console_resource_save(
            user=manager_user, tenant=tenant, kind=Kind.AGENT, public_id="gone", upsert=upsert, create=False
        )

    assert snapshot() == before

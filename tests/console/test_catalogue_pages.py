"""The console's catalogue pages: agents, tools, MCP servers and tokens (browse, create, edit, delete), the export of
selected agents, the import with its preview, and API clients; each with the access checklist (anonymous, outsider,
viewer, manager)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from apps.accounts.models import ApiClient
from apps.agents.api.serializers import validate_upsert
from apps.agents.bundle import bundle_decode
from apps.agents.crypto import decrypt_value
from apps.agents.models import Agent, Kind, McpServer, Reference, Token, Tool
from apps.agents.services import resource_upsert
from apps.console.catalogue import services
from apps.console.models import AuditEvent
from apps.jobs import tasks
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.agents.conftest import (
    SECRET,
    Catalogue,
    agent_body,
    create,
    custom_mcp_body,
    rag_tool_body,
    stored,
    token_body,
)
from tests.console.catalogue_fixtures import (
    ACTIONS,
    LONG_ID,
    READ_PAGES,
    WRITE_PAGES,
    export_file,
    field_errors,
    html,
    make_api_client,
    page,
    page_errors,
    preview_document,
    preview_states,
    saved_export,
    snapshot,
)

ROOT = Path(__file__).resolve().parents[2]
KIND_PATHS = {Kind.AGENT: "agents", Kind.TOOL: "tools", Kind.MCP_SERVER: "mcp-servers", Kind.TOKEN: "tokens"}


@pytest.fixture
def catalogue(tenant: Tenant) -> Catalogue:
    return Catalogue(tenant)


@pytest.fixture
def api_client(tenant: Tenant) -> ApiClient:
    return make_api_client(tenant)


@pytest.fixture
def world(catalogue: Catalogue, api_client: ApiClient, other_tenant: Tenant) -> ApiClient:
    """acme's catalogue and API client, and a catalogue in globex too (its a1 must never show in acme)."""
    create(other_tenant, Kind.TOKEN, "t1", token_body("Globex key", "globex-secret"))
    create(other_tenant, Kind.AGENT, "a1", agent_body("t1", name="Globex agent"))
    return api_client


@pytest.fixture
def broker() -> Iterator[mock.Mock]:
    """Sending a job's task is recorded, never done."""
    with mock.patch.object(tasks.job_run, "apply_async") as send:
        yield send


def post_form(client: Client, path: str, data: dict[str, Any]) -> Any:
    return client.post(page(path), data)


# --- the access checklist, for every URL ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", READ_PAGES + WRITE_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in_from_every_page(path: str, world: ApiClient, anonymous_client: Client):
    response = anonymous_client.get(page(path, world.client_id))

    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/?next=/console/acme/")


@pytest.mark.parametrize("path", ACTIONS)
def test_anonymous_posts_change_nothing_and_are_sent_to_sign_in(path: str, world: ApiClient, anonymous_client: Client):
    before = snapshot()

    response = anonymous_client.post(page(path, world.client_id), {"agent_ids": ["a1"], "force": "on"})

    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")
    assert snapshot() == before


@pytest.mark.parametrize("path", READ_PAGES + WRITE_PAGES)
def test_every_page_is_a_404_for_a_member_of_another_tenant(path: str, world: ApiClient, outsider_client: Client):
    assert outsider_client.get(page(path, world.client_id)).status_code == 404


@pytest.mark.parametrize("path", ACTIONS)
def test_every_action_is_a_404_for_a_member_of_another_tenant(path: str, world: ApiClient, outsider_client: Client):
    before = snapshot()

    response = outsider_client.post(page(path, world.client_id), {"agent_ids": ["a1"], "force": "on", "scopes": []})

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("path", ["agents/helper/", "agents/helper/edit", "tools/tool1/", "clients/{client}/revoke"])
def test_another_tenants_resource_is_a_404_under_ones_own_tenant(path: str, world: ApiClient, outsider_client: Client):
    # acme's helper, tool1 and API client, asked for under globex, where the outsider is a manager.
    assert outsider_client.get(page(path, world.client_id, tenant="globex")).status_code == 404


@pytest.mark.parametrize("path", ["agents/", "agents/a1/", "import/", "clients/"])
def test_a_tenant_that_does_not_exist_is_a_404_even_for_a_platform_admin(
    path: str, world: ApiClient, platform_admin_client: Client
):
    assert platform_admin_client.get(page(path, tenant="nosuch")).status_code == 404


@pytest.mark.parametrize("path", READ_PAGES)
def test_viewers_read_every_page_without_a_button_that_writes(path: str, world: ApiClient, viewer_client: Client):
    response = viewer_client.get(page(path))

    assert response.status_code == 200
    text = html(response)
    for target in ('/new"', '/edit"', '/delete"', 'agents/export"', 'import/preview"', '/revoke"', 'name="agent_ids"'):
        assert target not in text, f"a viewer is offered {target} on {path}"


@pytest.mark.parametrize(
    "path, targets",
    [
        ("agents/", ['agents/new"', 'agents/export"', 'name="agent_ids"']),
        ("agents/a1/", ['agents/a1/edit"', 'agents/a1/delete"', 'agents/export"']),
        ("tokens/t1/", ['tokens/t1/edit"', 'tokens/t1/delete"']),
        ("import/", ['import/preview"']),
        ("clients/", ['clients/new"', '/revoke"']),
    ],
)
def test_managers_are_offered_the_buttons_viewers_are_not(
    path: str, targets: list[str], world: ApiClient, manager_client: Client
):
    text = html(manager_client.get(page(path)))

    for target in targets:
        assert target in text


@pytest.mark.parametrize("path", WRITE_PAGES)
def test_viewers_get_403_from_every_form(path: str, world: ApiClient, viewer_client: Client):
    assert viewer_client.get(page(path, world.client_id)).status_code == 403


@pytest.mark.parametrize("path", ACTIONS)
def test_viewers_get_403_from_every_action_and_nothing_changes(path: str, world: ApiClient, viewer_client: Client):
    before = snapshot()
    data = {"agent_ids": ["a1"], "force": "on", "name": "x", "scopes": ["ai.agent_read"], "value": "v", "version": 1}

    response = viewer_client.post(page(path, world.client_id), data)

    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("persona", ["manager", "platform_admin"])
@pytest.mark.parametrize("path", READ_PAGES + WRITE_PAGES)
def test_managers_and_platform_admins_open_every_page(
    path: str, persona: str, world: ApiClient, client_as: Callable[[str], Client]
):
    assert client_as(persona).get(page(path, world.client_id)).status_code == 200


@pytest.mark.parametrize("path", ACTIONS)
def test_every_action_refuses_a_post_without_the_csrf_token(path: str, world: ApiClient, manager_user: Any):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manager_user)
    before = snapshot()

    response = browser.post(page(path, world.client_id), {"agent_ids": ["a1"], "force": "on"})

    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
@pytest.mark.parametrize("path", sorted({*READ_PAGES, *WRITE_PAGES, *ACTIONS}))
def test_every_path_is_a_404_for_an_outsider_whatever_the_method(
    path: str, method: str, world: ApiClient, outsider_client: Client
):
    assert getattr(outsider_client, method)(page(path, world.client_id)).status_code == 404


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "agents/export"),
        ("get", "import/preview"),
        ("get", "import/confirm"),
        ("post", "agents/"),
        ("post", "agents/a1/"),
        ("post", "import/"),
        ("post", "clients/"),
        ("delete", "agents/a1/delete"),
        ("put", "tokens/t1/edit"),
    ],
)
def test_a_method_a_path_does_not_take_is_a_405_for_members(
    method: str, path: str, world: ApiClient, manager_client: Client
):
    before = snapshot()

    assert getattr(manager_client, method)(page(path)).status_code == 405
    assert snapshot() == before


# --- lists and details ----------------------------------------------------------------------------------------------


def test_the_agent_list_shows_names_types_enabled_and_links_of_this_tenant_only(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    create(tenant, Kind.AGENT, "off", agent_body("t1", name="Dormant", enabled=False, type="complaint"))

    text = html(manager_client.get(page("agents/")))

    assert 'href="/console/acme/agents/a1/"' in text
    assert 'href="/console/acme/agents/helper/"' in text
    assert "Globex agent" not in text
    row = re.search(r"<tr>\s*<td><input[^>]*value=\"off\".*?</tr>", text, re.S)
    assert row is not None
    assert "Dormant" in row.group(0) and "complaint" in row.group(0) and "disabled" in row.group(0)
    assert "3 agents" in text


def test_the_list_searches_by_name(world: ApiClient, manager_client: Client):
    text = html(manager_client.get(page("agents/") + "?q=refu"))

    assert "/console/acme/agents/helper/" in text  # "Refunds"
    assert "/console/acme/agents/a1/" not in text  # "Support"
    assert "1 agent with “refu” in the name" in text


@pytest.mark.parametrize(
    "path, shown",
    [
        ("tools/", ["Product search", "rag_custom", "/console/acme/tools/tool1/"]),
        ("mcp-servers/", ["Orders MCP", "custom", "/console/acme/mcp-servers/mcp1/"]),
        ("tokens/", ["OpenAI key", "/console/acme/tokens/t1/"]),
    ],
)
def test_the_other_lists_show_their_resources(path: str, shown: list[str], world: ApiClient, viewer_client: Client):
    text = html(viewer_client.get(page(path)))

    for item in shown:
        assert item in text


def test_the_agent_detail_shows_its_representation_and_what_it_uses(world: ApiClient, viewer_client: Client):
    text = html(viewer_client.get(page("agents/a1/")))

    representation = re.search(r'<pre class="representation">(.*?)</pre>', text, re.S)
    assert representation is not None
    shown = json.loads(unescape(representation.group(1)))
    assert shown["id"] == "a1" and shown["llmConfig"]["token"] == {"id": "t1"}
    assert shown["metadata"]["version"] == 1
    uses = text.split("<h2>Uses</h2>")[1].split("<h2>Used by</h2>")[0]
    for link in ("tools/tool1/", "mcp-servers/mcp1/", "agents/helper/", "tokens/t1/"):
        assert f'href="/console/acme/{link}"' in uses
    assert "Nothing uses it." in text


def test_a_token_detail_lists_everything_that_uses_it(world: ApiClient, viewer_client: Client):
    text = html(viewer_client.get(page("tokens/t1/")))

    used_by = text.split("<h2>Used by</h2>")[1]
    for link in ("agents/a1/", "agents/helper/", "tools/tool1/", "mcp-servers/mcp1/"):
        assert f'href="/console/acme/{link}"' in used_by


def test_a_missing_resource_is_a_404(world: ApiClient, manager_client: Client):
    for path in ("agents/nope/", "tools/a1/", "tokens/nope/edit", "mcp-servers/nope/delete", f"agents/{'x' * 300}/"):
        assert manager_client.get(page(path)).status_code == 404, path


def test_ids_with_slashes_and_ids_like_the_pages_own_words_have_their_own_pages(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    for public_id in ("team/support", "new", "x/edit", "export"):
        create(tenant, Kind.AGENT, public_id, agent_body("t1", name=f"Agent {public_id}"))

    for public_id in ("team/support", "new", "x/edit", "export"):
        detail = manager_client.get(page(f"agents/{public_id}/"))
        assert detail.status_code == 200 and f"Agent {public_id}" in html(detail), public_id
        edit = manager_client.get(page(f"agents/{public_id}/edit"))
        assert edit.status_code == 200 and f"<code>{public_id}</code>" in html(edit), public_id
    assert "New agent" in html(manager_client.get(page("agents/new")))
    # Links percent-encode the whole id (and reverse() its "%" once more), so it stays one path segment.
    assert 'href="/console/acme/agents/team%252Fsupport/"' in html(manager_client.get(page("agents/")))


# --- create and edit -------------------------------------------------------------------------------------------------


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

    textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", text, re.S)
    assert textarea is not None
    assert json.loads(unescape(textarea.group(1))) == rag_tool_body("t1")


def test_an_edit_of_a_version_someone_changed_meanwhile_is_refused_with_a_clear_conflict(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    body = agent_body("t1", name="Refunds", userPrompt="Mine.")
    # Someone else saves first, through the API's service.
    resource_upsert(tenant=tenant, kind=Kind.AGENT, public_id="helper", body=agent_body("t1", name="Theirs"))

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


# --- tokens ----------------------------------------------------------------------------------------------------------


def token_pages(public_id: str = "k1") -> list[str]:
    return [
        "tokens/",
        f"tokens/{public_id}/",
        f"tokens/{public_id}/edit",
        f"tokens/{public_id}/delete",
        "tools/",
        "tools/uses-k1/",
        "tools/uses-k1/edit",
        "agents/",
        "agents/a1/",
    ]


def assert_never_shown(client: Client, paths: list[str], *secrets: str) -> None:
    for path in paths:
        response = client.get(page(path))
        assert response.status_code == 200, path
        for secret in secrets:
            assert secret.encode() not in response.content, f"{path} shows a secret"


def test_a_tokens_value_and_ciphertext_never_appear_on_any_page(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    response = post_form(manager_client, "tokens/new", {"public_id": "k1", "name": "Vector DB key", "value": SECRET})
    assert response.status_code == 302
    token = Token.objects.get(tenant=tenant, public_id="k1")
    assert decrypt_value(token.encrypted_value) == SECRET
    create(tenant, Kind.TOOL, "uses-k1", rag_tool_body("k1", name="Uses k1"))

    assert_never_shown(manager_client, token_pages(), SECRET, token.encrypted_value, token.encrypted_value[:24])
    assert 'type="password"' in html(manager_client.get(page("tokens/new")))


def test_a_token_form_never_echoes_the_value_it_was_sent(world: ApiClient, manager_client: Client, tenant: Tenant):
    response = post_form(manager_client, "tokens/new", {"public_id": "k1", "name": "", "value": SECRET})

    assert response.status_code == 400
    assert "This field is required." in field_errors(html(response))
    assert SECRET.encode() not in response.content
    assert not Token.objects.filter(tenant=tenant, public_id="k1").exists()


def test_a_new_token_needs_its_value(world: ApiClient, manager_client: Client, tenant: Tenant):
    response = post_form(manager_client, "tokens/new", {"public_id": "k1", "name": "Key", "value": ""})

    assert response.status_code == 400
    assert not Token.objects.filter(tenant=tenant, public_id="k1").exists()


def test_a_token_is_renamed_without_its_value_which_stays(world: ApiClient, manager_client: Client, tenant: Tenant):
    response = post_form(manager_client, "tokens/t1/edit", {"name": "Renamed key", "value": "", "version": "1"})

    assert response.status_code == 302
    token = Token.objects.get(tenant=tenant, public_id="t1")
    assert (token.name, token.version, decrypt_value(token.encrypted_value)) == ("Renamed key", 2, SECRET)


def test_a_tokens_edit_form_offers_no_value_and_ignores_one_sent_like_the_api(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    """Regression: a different value answered "cannot be changed" and the stored one saved, telling the two apart."""
    attempt = "sk-another-secret-value-1234567890"
    assert 'name="value"' not in html(manager_client.get(page("tokens/t1/edit")))

    response = post_form(manager_client, "tokens/t1/edit", {"name": "OpenAI key", "value": attempt, "version": "1"})

    assert response.status_code == 302
    assert decrypt_value(Token.objects.get(tenant=tenant, public_id="t1").encrypted_value) == SECRET


# --- delete ----------------------------------------------------------------------------------------------------------


def test_deleting_an_unused_resource(world: ApiClient, manager_client: Client, tenant: Tenant):
    confirm = html(manager_client.get(page("agents/a1/delete")))
    assert "Nothing uses it" in confirm and 'name="force"' not in confirm

    response = post_form(manager_client, "agents/a1/delete", {})

    assert response.status_code == 302
    assert response["Location"] == "/console/acme/agents/"
    assert not Agent.objects.filter(tenant=tenant, public_id="a1").exists()
    assert not Reference.objects.filter(tenant=tenant, source_id="a1").exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.RESOURCE_DELETE)
    assert event.object_id == "a1" and event.detail == {"kind": "agent", "force": False, "detachedFrom": []}


def test_a_resource_in_use_lists_its_dependants_and_is_kept_without_force(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    confirm = html(manager_client.get(page("tools/tool1/delete")))
    assert 'href="/console/acme/agents/a1/"' in confirm and 'name="force"' in confirm
    before = snapshot()

    response = post_form(manager_client, "tools/tool1/delete", {})

    assert response.status_code == 409
    assert any("Not deleted: 1 other resource(s) use this tool" in e for e in page_errors(html(response)))
    assert 'href="/console/acme/agents/a1/"' in html(response)
    assert snapshot() == before


def test_force_detaches_a_resource_from_its_dependants_then_deletes_it(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    response = post_form(manager_client, "tools/tool1/delete", {"force": "on"})

    assert response.status_code == 302
    assert not Tool.objects.filter(tenant=tenant, public_id="tool1").exists()
    a1 = stored(tenant, Kind.AGENT, "a1")
    assert a1.body["nativeTools"] == [] and a1.version == 2
    event = AuditEvent.objects.get(action=AuditEvent.Action.RESOURCE_DELETE)
    assert event.detail == {"kind": "tool", "force": True, "detachedFrom": [{"kind": "agent", "id": "a1"}]}


# --- export ----------------------------------------------------------------------------------------------------------


def test_exporting_selected_agents_starts_an_export_job_for_exactly_them(
    world: ApiClient, manager_client: Client, tenant: Tenant, broker: mock.Mock, django_capture_on_commit_callbacks: Any
):
    create(tenant, Kind.AGENT, "other", agent_body("t1", name="Not selected"))

    with django_capture_on_commit_callbacks(execute=True):
        response = post_form(manager_client, "agents/export", {"agent_ids": ["helper", "a1", "helper"]})

    job = Job.objects.get(tenant=tenant)
    assert (job.type, job.payload) == (Job.Type.EXPORT, {"agentIds": ["helper", "a1"]})
    assert response.status_code == 302
    assert response["Location"] == f"/console/acme/jobs/{job.job_id}/"
    broker.assert_called_once_with(args=[job.pk], retry=False)
    event = AuditEvent.objects.get(action=AuditEvent.Action.AGENTS_EXPORT)
    assert (event.object_id, event.detail) == (job.job_id, {"agentIds": ["helper", "a1"]})


@pytest.mark.parametrize(
    "selected, problem",
    [
        ([], "Select the agents to export first."),
        (["a1", "ghost"], "No agents with ids ghost in this tenant."),
        (["tool1"], "No agents with ids tool1 in this tenant."),
    ],
)
def test_an_export_of_no_or_unknown_agents_starts_no_job(
    selected: list[str], problem: str, world: ApiClient, manager_client: Client, broker: mock.Mock
):
    response = manager_client.post(page("agents/export"), {"agent_ids": selected}, follow=True)

    assert response.redirect_chain == [("/console/acme/agents/", 302)]
    assert problem in [str(m) for m in response.context["messages"]]
    assert not Job.objects.exists() and not AuditEvent.objects.exists()
    broker.assert_not_called()


def test_an_export_of_more_agents_than_an_export_takes_starts_no_job(
    world: ApiClient, manager_client: Client, broker: mock.Mock, settings: Any
):
    settings.EXPORT_MAX_AGENTS = 1

    response = manager_client.post(page("agents/export"), {"agent_ids": ["a1", "helper"]}, follow=True)

    assert "An export takes at most 1 agents; 2 were selected." in [str(m) for m in response.context["messages"]]
    assert not Job.objects.exists()


def test_an_export_while_the_tenant_has_as_many_jobs_in_progress_as_it_may_says_to_try_again(
    world: ApiClient, manager_client: Client, tenant: Tenant, broker: mock.Mock, settings: Any
):
    settings.JOB_MAX_IN_PROGRESS_PER_TENANT = 1
    Job.objects.create(tenant=tenant, type=Job.Type.IMPORT)

    response = manager_client.post(page("agents/export"), {"agent_ids": ["a1"]}, follow=True)

    assert response.redirect_chain == [("/console/acme/agents/", 302)]
    shown = [str(m) for m in response.context["messages"]]
    assert any("as many as it may have at once (JOB_MAX_IN_PROGRESS_PER_TENANT=1)" in m for m in shown), shown
    assert Job.objects.count() == 1
    broker.assert_not_called()


def test_an_export_of_another_tenants_agent_starts_no_job(world: ApiClient, manager_client: Client, broker: mock.Mock):
    Agent.objects.filter(tenant__name="acme", public_id="a1").delete()  # only globex has an a1 now

    manager_client.post(page("agents/export"), {"agent_ids": ["a1"]})

    assert not Job.objects.exists()


# --- import ----------------------------------------------------------------------------------------------------------


def preview(client: Client, content: dict[str, Any] | bytes) -> Any:
    return client.post(page("import/preview"), {"bundle": export_file(content)})


def test_the_import_page_offers_a_drop_zone_and_a_file_input(world: ApiClient, manager_client: Client):
    text = html(manager_client.get(page("import/")))

    assert 'class="dropzone"' in text and 'type="file" name="bundle"' in text
    assert 'enctype="multipart/form-data"' in text and "console/import.js" in text
    assert 'addEventListener("drop"' in (ROOT / "static" / "console" / "import.js").read_text()


def test_the_preview_shows_the_state_of_every_entity_and_writes_nothing(world: ApiClient, manager_client: Client):
    before = snapshot()

    response = preview(manager_client, saved_export(preview_document()))

    assert response.status_code == 200, page_errors(html(response))
    assert snapshot() == before
    states = preview_states(html(response))
    assert states["tools"] == {"tool1": "EXISTS", "newtool": "ENABLED", "needs-key": "DISABLED", "slack1": "TO_CREATE"}
    assert states["mcpServers"] == {LONG_ID: "FAILED"}
    agents = states["agents"]
    assert agents.pop("fresh") == "DISABLED"
    (renamed, state), *others = agents.items()
    assert re.fullmatch(r"[0-9a-f]{24}", renamed) and state == "DISABLED" and not others
    text = html(response)
    assert "MISSING_TOKEN" in text and "NOT_IMPORTABLE" in text and "ALREADY_EXISTS" in text
    assert "Nothing has been written yet." in text


@pytest.mark.django_db(transaction=True)
def test_the_preview_commits_nothing_outside_a_test_transaction(
    tenant: Tenant, other_tenant: Tenant, manager_client: Client
):
    Catalogue(tenant)
    before = snapshot()

    response = preview(manager_client, saved_export(preview_document()))

    assert response.status_code == 200
    assert preview_states(html(response))["tools"]["newtool"] == "ENABLED"
    assert snapshot() == before


def test_the_preview_carries_the_bundle_to_the_import_button(world: ApiClient, manager_client: Client):
    saved = saved_export(preview_document())

    text = html(preview(manager_client, saved))

    carried = dict(re.findall(r'<input type="hidden" name="(bundle_data|checksum)" value="([^"]*)"', text))
    assert carried == {"bundle_data": saved["data"], "checksum": saved["checksum"]}
    assert 'action="/console/acme/import/confirm"' in text


@pytest.mark.parametrize(
    "content, problem",
    [
        (saved_export(preview_document(), checksum="0" * 64), "checksum does not match data"),
        (saved_export(preview_document(), data="bm90IGpzb24="), "checksum does not match data"),
        ({"exportedAt": "2025-03-01T10:00:00.000Z"}, "data is required"),
        (b"\x89PNG not an export", "This is not an export file"),
        (b"[1, 2]", "This is not an export file"),
        (saved_export({"formatVersion": 1, "agents": []}), "The export holds no agents."),
    ],
)
def test_a_bad_file_is_refused_with_the_reason_before_any_preview(
    content: Any, problem: str, world: ApiClient, manager_client: Client
):
    before = snapshot()

    response = preview(manager_client, content)

    assert response.status_code == 400
    assert any(problem in error for error in page_errors(html(response))), page_errors(html(response))
    assert "data-section" not in html(response)
    assert snapshot() == before


def test_a_file_larger_than_an_import_takes_is_refused_naming_the_limit(
    world: ApiClient, manager_client: Client, settings: Any
):
    settings.IMPORT_MAX_BYTES = 64 * 1024

    response = preview(manager_client, saved_export(preview_document(), padding="x" * 100_000))

    assert response.status_code == 400
    errors = page_errors(html(response))
    assert any("larger than an import takes (65536 bytes, IMPORT_MAX_BYTES)" in error for error in errors), errors


def test_a_4_mb_export_file_is_previewed_and_imported_through_the_console(
    world: ApiClient, manager_client: Client, tenant: Tenant, broker: mock.Mock
):
    document = {"formatVersion": 1, "agents": [{"id": "big", **agent_body("t1", userPrompt="Be kind. " * 350_000)}]}
    saved = saved_export(document)
    assert len(json.dumps(saved)) > 4_000_000

    previewed = preview(manager_client, saved)

    assert previewed.status_code == 200, page_errors(html(previewed))
    assert preview_states(html(previewed))["agents"] == {"big": "DISABLED"}
    confirmed = manager_client.post(
        page("import/confirm"), {"bundle_data": saved["data"], "checksum": saved["checksum"]}
    )
    assert confirmed.status_code == 302, page_errors(html(confirmed))
    job = Job.objects.get(tenant=tenant, type=Job.Type.IMPORT)
    assert job.payload == {"data": saved["data"], "checksum": saved["checksum"]}


def test_an_upload_over_the_limit_answers_413_saying_what_the_limit_is(
    world: ApiClient, manager_client: Client, settings: Any
):
    settings.IMPORT_MAX_BYTES = 64 * 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 + 64 * 1024
    before = snapshot()

    response = preview(manager_client, saved_export(preview_document(), padding="x" * 200_000))

    assert response.status_code == 413
    assert "IMPORT_MAX_BYTES" in html(response) and "0.1 MiB (65536 bytes)" in html(response)
    assert snapshot() == before


def test_the_import_button_starts_an_import_job_of_the_previewed_bundle(
    world: ApiClient, manager_client: Client, tenant: Tenant, broker: mock.Mock, django_capture_on_commit_callbacks: Any
):
    saved = saved_export(preview_document())
    before = snapshot()

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            page("import/confirm"), {"bundle_data": saved["data"], "checksum": saved["checksum"]}
        )

    job = Job.objects.get(tenant=tenant)
    assert (job.type, job.payload) == (Job.Type.IMPORT, {"data": saved["data"], "checksum": saved["checksum"]})
    assert response.status_code == 302 and response["Location"] == f"/console/acme/jobs/{job.job_id}/"
    broker.assert_called_once_with(args=[job.pk], retry=False)
    event = AuditEvent.objects.get(action=AuditEvent.Action.AGENTS_IMPORT)
    assert (event.object_id, event.detail) == (job.job_id, {"agentIds": ["a1", "fresh"], "agents": 2})
    # The job does the importing, not the page.
    assert {k: v for k, v in snapshot().items() if k not in ("jobs", "audit")} == {
        k: v for k, v in before.items() if k not in ("jobs", "audit")
    }


def test_a_bundle_changed_between_preview_and_import_is_refused(
    world: ApiClient, manager_client: Client, broker: mock.Mock
):
    saved = saved_export(preview_document())
    document = bundle_decode(saved["data"], saved["checksum"])
    document["agents"][0]["userPrompt"] = "Tampered."
    tampered = saved_export(document)  # a valid bundle, with the other checksum

    response = manager_client.post(
        page("import/confirm"), {"bundle_data": tampered["data"], "checksum": saved["checksum"]}
    )

    assert response.status_code == 400
    assert any("checksum does not match data" in error for error in page_errors(html(response)))
    assert not Job.objects.exists() and not AuditEvent.objects.exists()
    broker.assert_not_called()


# --- API clients -----------------------------------------------------------------------------------------------------


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match is not None, pattern
    return match.group(1)


def token_request(client_id: str, secret: str) -> Any:
    return Client().post(
        "/oauth/token", {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )


def test_the_client_list_shows_the_tenants_clients(world: ApiClient, viewer_client: Client, other_tenant: Tenant):
    make_api_client(other_tenant, name="Globex sync")

    text = html(viewer_client.get(page("clients/")))

    assert "Nightly sync" in text and world.client_id in text and "ai.agent_read" in text
    assert "Globex sync" not in text


def test_a_created_clients_secret_is_shown_once_and_gets_tokens_until_revoked(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    response = post_form(
        manager_client, "clients/new", {"name": "Importer", "scopes": ["ai.agent_read", "ai.agent_manage"]}
    )

    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    text = html(response)
    assert "shown only this once" in text
    client_id = found(r"<code data-client-id>([^<]+)</code>", text)
    secret = found(r'<code class="secret" data-client-secret>([^<]+)</code>', text)
    created = ApiClient.objects.get(tenant=tenant, client_id=client_id)
    assert created.name == "Importer" and created.allowed_scopes == ["ai.agent_read", "ai.agent_manage"]
    assert created.client_secret != secret  # stored hashed
    event = AuditEvent.objects.get(action=AuditEvent.Action.CLIENT_CREATE)
    assert event.object_id == client_id and secret not in json.dumps(event.detail)
    # Never again: not on the list, not on the revoke page.
    for path in ("clients/", f"clients/{client_id}/revoke"):
        assert secret.encode() not in manager_client.get(page(path)).content

    issued = token_request(client_id, secret)
    assert issued.status_code == 200 and issued.json()["access_token"]

    confirm = manager_client.get(page(f"clients/{client_id}/revoke"))
    assert confirm.status_code == 200 and "Revoke it" in html(confirm)
    revoked = post_form(manager_client, f"clients/{client_id}/revoke", {})
    assert revoked.status_code == 302 and revoked["Location"] == "/console/acme/clients/"

    refused = token_request(client_id, secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert ApiClient.objects.get(pk=created.pk).revoked_at is not None
    event = AuditEvent.objects.get(action=AuditEvent.Action.CLIENT_REVOKE)
    assert event.object_id == client_id and event.username == "mia-manager"


def test_a_client_needs_a_scope(world: ApiClient, manager_client: Client):
    before = snapshot()

    response = post_form(manager_client, "clients/new", {"name": "No scopes"})

    assert response.status_code == 400
    assert "Choose at least one scope." in field_errors(html(response))
    assert snapshot() == before


def test_revoking_a_revoked_client_changes_nothing(world: ApiClient, manager_client: Client):
    post_form(manager_client, f"clients/{world.client_id}/revoke", {})
    first = ApiClient.objects.get(pk=world.pk).revoked_at

    response = post_form(manager_client, f"clients/{world.client_id}/revoke", {})

    assert response.status_code == 302
    assert ApiClient.objects.get(pk=world.pk).revoked_at == first
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CLIENT_REVOKE).count() == 1


def test_a_revoked_client_is_marked_on_the_list_without_a_revoke_button(world: ApiClient, manager_client: Client):
    post_form(manager_client, f"clients/{world.client_id}/revoke", {})

    text = html(manager_client.get(page("clients/")))

    assert "revoked" in text and f"clients/{world.client_id}/revoke" not in text


def test_a_new_clients_secret_stays_out_of_the_error_report_of_a_failing_page(
    world: ApiClient, manager_client: Client, monkeypatch: pytest.MonkeyPatch
):
    # An error while the page is drawn is reported (to ADMINS, to the logs) with the local variables of every
    # frame: the secret must not be among them, in the view or below it.
    import sys

    from django.views.debug import ExceptionReporter

    from apps.accounts import services as account_services
    from apps.console.catalogue import client_views

    issued: list[Any] = []
    create = account_services.api_client_create

    def remembering(**kwargs: Any) -> Any:
        issued.append(create(**kwargs))
        return issued[-1]

    def failing(request: Any, template: str, context: dict[str, Any], **kwargs: Any) -> Any:
        raise RuntimeError("the page could not be drawn")

    monkeypatch.setattr(services, "api_client_create", remembering)
    monkeypatch.setattr(client_views, "render", failing)
    with pytest.raises(RuntimeError):
        try:
            post_form(manager_client, "clients/new", {"name": "Importer", "scopes": ["ai.agent_read"]})
        except RuntimeError:
            frames = ExceptionReporter(None, *sys.exc_info()).get_traceback_data()["frames"]
            raise

    secret = issued[0].client_secret
    # The frames from the view down, `failing` standing in for the template engine's.
    shown = {frame["function"]: repr(frame["vars"]) for frame in frames if not frame["function"].startswith("test_")}
    assert "client_create" in shown and "failing" in shown
    assert not [function for function, variables in shown.items() if secret in variables]

"""The catalogue's forms generated from the API's serializers: which fields a resource gets (labels, help texts,
selects, checkboxes, token pickers, fieldsets), how saving from the form writes into the JSON without losing what
the form does not show, where the API's errors land, and the one-click Enable / Disable."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import pytest
from django import forms
from django.test import Client

from apps.accounts.models import ApiClient
from apps.agents.models import Agent, Kind, McpServer, Tool
from apps.audit.models import AuditEvent
from apps.console.catalogue.generated import Generated, field_for_error, generate, label_of, merged
from apps.console.catalogue.pages import PAGES
from apps.tenants.models import Tenant
from tests.agents.conftest import agent_body, create, custom_mcp_body, stored
from tests.console.catalogue.helpers import post_form
from tests.console.catalogue_fixtures import field_errors, html, page, page_errors, snapshot

TOKENS = [("t1", "OpenAI key (t1)"), ("t2", "Vector key (t2)")]


def fields_of(kind: Kind, document: dict[str, Any], *, secrets: bool = False) -> Generated:
    return generate(kind, document, tokens=TOKENS, secrets=secrets)


def options(form_field: forms.Field) -> list[str]:
    return [str(value) for value, _ in form_field.widget.choices]  # type: ignore[attr-defined]


def error_next_to(text: str, field_name: str) -> list[str]:
    """The errors listed beside one field of a form page (its <ul id="id_<name>_error">)."""
    block = re.search(rf'<ul class="field-errors" id="id_{re.escape(field_name)}_error"[^>]*>(.*?)</ul>', text, re.S)
    assert block is not None, f"no errors next to {field_name}: {field_errors(text)}"
    return [re.sub(r"\s+", " ", unescape(item)).strip() for item in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]


def textarea_json(text: str) -> dict[str, Any]:
    found = re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', text, re.S)
    assert found is not None
    value: dict[str, Any] = json.loads(unescape(found.group(1)))
    return value


# --- generation ------------------------------------------------------------------------------------------------------


def test_an_agent_gets_labelled_fields_selects_checkboxes_and_a_fieldset_for_its_model():
    generated = fields_of(Kind.AGENT, PAGES[Kind.AGENT].starter)
    fields = generated.fields

    assert list(fields)[:6] == ["name.en", "description.en", "type", "enabled", "userPrompt", "llmConfig.provider"]
    assert fields["name.en"].label == "Name (en)" and fields["name.en"].help_text == "The agent's name, by language."
    assert fields["userPrompt"].label == "Prompt" and isinstance(fields["userPrompt"].widget, forms.Textarea)
    assert isinstance(fields["enabled"], forms.BooleanField)
    assert "support" in options(fields["type"]) and "" in options(fields["type"])  # optional: a blank choice
    assert options(fields["llmConfig.provider"]) == [
        "emporix_openai",
        "openai",
        "google",
        "anthropic",
        "self_hosted_ollama",
        "self_hosted_vllm",
    ]
    assert isinstance(fields["llmConfig.temperature"].widget, forms.NumberInput)
    assert fields["llmConfig.temperature"].widget.attrs == {"step": "any", "min": 0.1, "max": 1.0}
    assert fields["maxRecursionLimit"].initial == "20"  # the API's default, shown
    assert isinstance(fields["requiredScopes"].widget, forms.CheckboxSelectMultiple)
    assert options(fields["requiredScopes"]) == ["anonymous", "customer", "employee", "integration"]
    assert fields["tags"].help_text == "One per line." and isinstance(fields["tags"].widget, forms.Textarea)
    model = next(item for item in generated.root.items if getattr(item, "path", None) == "llmConfig" and item.items)
    assert model.legend == "Model"  # type: ignore[union-attr]
    # Lists of objects stay in the JSON.
    assert generated.root.advanced == ["Triggers", "MCP servers", "Tools", "Hands off to"]
    assert "metadata.version" not in fields


def test_a_provider_that_needs_a_key_brings_a_token_picker_of_the_tenants_tokens():
    body = agent_body("t2")  # provider openai

    fields = fields_of(Kind.AGENT, body).fields

    picker = fields["llmConfig.token.id"]
    assert picker.label == "Token" and picker.initial == "t2"
    assert options(picker) == ["t1", "t2"]  # required: no blank choice once one is chosen
    assert fields["name.de"].initial == "Support (de)"  # one field per language the name has


def test_a_token_that_is_gone_stays_chosen_and_says_so():
    picker = fields_of(Kind.AGENT, agent_body("deleted-key")).fields["llmConfig.token.id"]

    assert ("deleted-key", "deleted-key (not found)") in picker.widget.choices  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "kind, document, expected",
    [
        (Kind.TOOL, {"type": "slack"}, ["type", "name", "enabled", "config.teamId", "config.defaultInboundAgentId"]),
        (Kind.TOOL, {"type": "rag_custom"}, ["type", "name", "enabled", "config.prompt", "config.maxResults"]),
        (Kind.MCP_SERVER, {}, ["type", "name", "enabled", "transport", "config.url"]),
        (Kind.MCP_SERVER, {"type": "dynamic"}, ["type", "name", "enabled", "transport"]),
        (Kind.TOOL, {"type": "fax"}, ["type"]),  # an unknown type: only the choice of another
    ],
)
def test_tools_and_mcp_servers_get_the_fields_of_their_type(kind: Kind, document: dict[str, Any], expected: list[str]):
    assert list(fields_of(kind, document).fields)[: len(expected)] == expected


def test_an_mcp_server_picks_its_credential_among_the_tokens_and_a_slack_tool_ticks_operations():
    server = fields_of(Kind.MCP_SERVER, custom_mcp_body("t1")).fields
    slack = fields_of(Kind.TOOL, {"type": "slack", "config": {"allowedOperations": ["sendMessage"]}}).fields

    credential = server["config.authorizationHeaderToken.id"]
    assert (credential.label, credential.initial) == ("Credential", "t1")
    assert options(credential) == ["", "t1", "t2"]  # optional: it can be taken away
    assert server["config.url"].label == "URL" and server["config.url"].initial == "http://mcp:7900/mcp"
    assert options(server["transport"]) == ["streamable_http", "sse"]
    assert slack["config.allowedOperations"].initial == ["sendMessage"]
    assert options(slack["config.allowedOperations"])[0] == "sendMessage"


def test_a_tokens_value_is_offered_on_create_only_and_never_filled_in():
    created = fields_of(Kind.TOKEN, {}, secrets=True).fields
    edited = fields_of(Kind.TOKEN, {"name": "Key"}, secrets=False).fields

    assert list(created) == ["name", "value"] and isinstance(created["value"].widget, forms.PasswordInput)
    assert list(edited) == ["name"]


def test_labels_come_from_the_serializer_or_from_the_camel_case_name():
    assert label_of("maxTokens") == "Max tokens"
    assert label_of("llmConfig") == "LLM config"
    assert label_of("defaultInboundAgentId") == "Default inbound agent id"


# --- writing back ----------------------------------------------------------------------------------------------------


def test_the_form_writes_its_values_into_the_json_and_keeps_what_it_does_not_show():
    body = agent_body("t1", tools=("tool1",)) | {"icon": "robot", "unknownToTheApi": 1}
    generated = fields_of(Kind.AGENT, body)
    values = {name: form_field.initial for name, form_field in generated.fields.items()}
    values |= {
        "name.en": "Returns",
        "llmConfig.temperature": "0.7",
        "llmConfig.maxTokens": "",  # empty: absent
        "maxRecursionLimit": "12",
        "enabledMemory": True,
        "handOff": False,  # unticked, and absent before: stays absent
        "requiredScopes": ["customer", "employee"],
        "tags": "orders\n\n returns \n",
        "icon": "",  # blank allowed, and present: kept blank
        "llmConfig.token.id": "t2",
    }

    result = merged(body, generated.inputs, values)

    assert result["name"] == {"en": "Returns", "de": "Support (de)"}
    assert result["llmConfig"] == {
        "provider": "openai",
        "model": "gpt-4.1-mini",
        "temperature": 0.7,
        "token": {"id": "t2"},
    }
    assert (result["maxRecursionLimit"], result["enabledMemory"], "handOff" in result) == (12, True, False)
    assert result["requiredScopes"] == ["customer", "employee"] and result["tags"] == ["orders", "returns"]
    assert result["icon"] == ""
    # Untouched: what only the JSON edits, and what the API would drop anyway.
    for key in ("triggers", "mcpServers", "nativeTools", "agentCollaborations", "unknownToTheApi"):
        assert result[key] == body[key]
    assert body["llmConfig"]["token"] == {"id": "t1"}  # the document given is not changed


def test_a_number_that_is_not_one_is_left_for_the_serializer_to_refuse():
    generated = fields_of(Kind.TOOL, {"type": "rag_custom", "config": {}})

    result = merged({"type": "rag_custom"}, generated.inputs, {"config.maxResults": "many"})

    assert result["config"]["maxResults"] == "many"


def test_an_optional_token_left_empty_removes_the_reference():
    body = custom_mcp_body("t1")
    generated = fields_of(Kind.MCP_SERVER, body)

    result = merged(body, generated.inputs, {"config.authorizationHeaderToken.id": ""})

    assert "authorizationHeaderToken" not in result["config"]
    assert result["config"]["authorizationHeaderName"] == "Authorization"  # not posted: kept


@pytest.mark.parametrize(
    "path, expected",
    [
        ("llmConfig.model", "llmConfig.model"),  # the field itself
        ("llmConfig.token", "llmConfig.token.id"),  # the reference it holds
        ("llmConfig", "llmConfig.provider"),  # an object: its first field
        ("name", "name.en"),
        ("tags.2", "tags"),  # an item: the list's field
        ("triggers.0.type", None),  # only in the JSON
    ],
)
def test_an_api_error_lands_on_the_field_that_shows_its_path(path: str, expected: str | None):
    generated = fields_of(Kind.AGENT, agent_body("t1"))

    assert field_for_error(generated.inputs, path) == expected


# --- the pages -------------------------------------------------------------------------------------------------------


def test_the_new_agent_page_shows_the_form_and_the_json_as_tabs(world: ApiClient, manager_client: Client):
    text = html(manager_client.get(page("agents/new")))

    assert '<label for="id_llmConfig.model">Model</label>' in text
    assert "The language model the agent uses." in text  # the serializer's help text
    assert "<legend>Model</legend>" in text
    assert 'name="enabled"' in text and 'type="checkbox"' in text
    assert "In the Advanced tab: Triggers, MCP servers, Tools, Hands off to." in text
    assert 'role="tab"' in text and 'button type="submit" name="save" value="form"' in text
    assert textarea_json(text) == PAGES[Kind.AGENT].starter


def test_the_token_picker_offers_this_tenants_tokens_only(world: ApiClient, manager_client: Client):
    text = html(manager_client.get(page("agents/a1/edit")))

    picker = re.search(r'<select name="llmConfig.token.id"[^>]*>(.*?)</select>', text, re.S)
    assert picker is not None
    assert re.findall(r'<option value="([^"]*)"', picker.group(1)) == ["t1"]  # not globex's t1 "Globex key"
    assert "OpenAI key (t1)" in picker.group(1) and "Globex" not in picker.group(1)


def form_post(client: Client, path: str, body: dict[str, Any], **values: Any) -> Any:
    """A save from the form's button, as a browser posts it: the JSON tab's text and every field of the form
    (as the JSON fills them in), with `values` typed over them."""
    kind = next(kind for kind, each in PAGES.items() if path.startswith(f"{each.segment}/"))
    shown = generate(kind, body, tokens=[], secrets=False).fields
    posted: dict[str, Any] = {}
    for name, form_field in shown.items():
        if isinstance(form_field, forms.BooleanField):
            posted |= {name: "on"} if form_field.initial else {}
        else:
            posted[name] = form_field.initial
    return post_form(client, path, {"save": "form", "body": json.dumps(body), **posted, **values})


def test_a_manager_creates_an_agent_from_the_form(world: ApiClient, manager_client: Client, tenant: Tenant):
    starter = PAGES[Kind.AGENT].starter

    response = form_post(
        manager_client,
        "agents/new",
        starter,
        public_id="returns",
        **{
            "name.en": "Returns desk",
            "description.en": "Takes returns.",
            "type": "complaint",
            "enabled": "on",
            "userPrompt": "Be kind.",
            "llmConfig.provider": "emporix_openai",
            "llmConfig.model": "gpt-4.1",
            "llmConfig.temperature": "0.3",
            "maxRecursionLimit": "8",
            "requiredScopes": ["customer"],
        },
    )

    assert response.status_code == 302, field_errors(html(response)) + page_errors(html(response))
    agent = stored(tenant, Kind.AGENT, "returns")
    assert isinstance(agent, Agent)
    assert (agent.name, agent.enabled, agent.agent_type) == ("Returns desk", True, "complaint")
    assert agent.body["llmConfig"] == {"provider": "emporix_openai", "model": "gpt-4.1", "temperature": 0.3}
    assert (agent.body["maxRecursionLimit"], agent.body["requiredScopes"]) == (8, ["customer"])
    assert agent.body["triggers"] == starter["triggers"]  # from the JSON, which the form does not show
    event = AuditEvent.objects.get(action=AuditEvent.Action.RESOURCE_SAVE)
    assert event.detail == {"kind": "agent", "created": True}


def test_an_edit_from_the_form_keeps_the_fields_it_does_not_show(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    before = stored(tenant, Kind.AGENT, "a1").body

    response = form_post(
        manager_client,
        "agents/a1/edit",
        before,
        version="1",
        **{
            "name.en": "Support 2",
            "name.de": "Support (de)",
            "userPrompt": "New.",
            "llmConfig.provider": "openai",
            "llmConfig.model": "gpt-4.1-mini",
            "llmConfig.token.id": "t1",
            "type": "support",
            "enabled": "on",
        },
    )

    assert response.status_code == 302, field_errors(html(response))
    after = stored(tenant, Kind.AGENT, "a1")
    assert after.version == 2 and after.body["userPrompt"] == "New." and after.body["name"]["en"] == "Support 2"
    for key in ("triggers", "mcpServers", "nativeTools", "agentCollaborations", "llmConfig"):
        assert after.body[key] == before[key], key


def test_an_error_of_the_api_is_shown_next_to_its_field_and_nothing_is_saved(world: ApiClient, manager_client: Client):
    before = snapshot()

    response = form_post(
        manager_client,
        "agents/new",
        PAGES[Kind.AGENT].starter,
        public_id="x1",
        **{
            "name.en": "X",
            "userPrompt": "",
            "llmConfig.provider": "emporix_openai",
            "llmConfig.model": "",
            "llmConfig.temperature": "7",
        },
    )

    assert response.status_code == 400
    text = html(response)
    assert error_next_to(text, "llmConfig.model") == ["This field may not be blank."]
    assert error_next_to(text, "llmConfig.temperature") == ["Ensure this value is less than or equal to 1.0."]
    assert "Nothing was saved: see the problems next to the form." in page_errors(text)
    # Both tabs show the one document that was refused.
    assert textarea_json(text)["llmConfig"] == {"provider": "emporix_openai", "model": "", "temperature": 7.0}
    assert snapshot() == before


def test_choosing_a_provider_that_needs_a_key_shows_the_token_picker_with_its_error(
    world: ApiClient, manager_client: Client
):
    response = form_post(
        manager_client,
        "agents/new",
        PAGES[Kind.AGENT].starter,
        **{"name.en": "X", "llmConfig.provider": "anthropic", "llmConfig.model": "claude-sonnet"},
    )

    assert response.status_code == 400
    text = html(response)
    assert error_next_to(text, "llmConfig.token.id") == ["This field is required."]
    assert re.search(r'<select name="llmConfig.token.id"', text)
    assert 'value="claude-sonnet"' in text  # what was typed stays


def test_an_error_the_form_does_not_show_goes_to_the_json_and_is_listed_above(world: ApiClient, manager_client: Client):
    body = PAGES[Kind.AGENT].starter | {"triggers": [{"type": "carrier-pigeon"}]}

    response = form_post(
        manager_client,
        "agents/new",
        body,
        **{"name.en": "X", "llmConfig.provider": "emporix_openai", "llmConfig.model": "m"},
    )

    assert response.status_code == 400
    text = html(response)
    assert error_next_to(text, "body")[0].startswith("triggers.0.type: Must be one of")
    assert any(e.startswith("In the Advanced tab: triggers.0.type:") for e in page_errors(text))


def test_a_manager_creates_a_tool_an_mcp_server_and_a_token_from_their_forms(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    tool = form_post(
        manager_client,
        "tools/new",
        PAGES[Kind.TOOL].starter,
        public_id="slack2",
        **{"type": "slack", "name": "Slack #help", "config.teamId": "T1", "config.allowedOperations": ["sendMessage"]},
    )
    server = form_post(
        manager_client,
        "mcp-servers/new",
        PAGES[Kind.MCP_SERVER].starter,
        public_id="orders",
        **{
            "type": "custom",
            "name": "Orders",
            "enabled": "on",
            "transport": "sse",
            "config.url": "https://o.example/mcp",
            "config.authorizationHeaderName": "Authorization",
            "config.authorizationHeaderToken.id": "t1",
        },
    )
    token = post_form(manager_client, "tokens/new", {"public_id": "k2", "name": "Qdrant key", "value": "s3cret"})

    assert [r.status_code for r in (tool, server, token)] == [302, 302, 302]
    slack = stored(tenant, Kind.TOOL, "slack2")
    assert isinstance(slack, Tool)
    assert slack.body["config"] == {"teamId": "T1", "allowedOperations": ["sendMessage"]}
    mcp = stored(tenant, Kind.MCP_SERVER, "orders")
    assert isinstance(mcp, McpServer) and mcp.enabled
    assert mcp.body["config"]["authorizationHeaderToken"] == {"id": "t1"} and mcp.body["transport"] == "sse"
    assert stored(tenant, Kind.TOKEN, "k2").name == "Qdrant key"


def test_changing_a_tools_type_brings_the_fields_of_the_new_type(world: ApiClient, manager_client: Client):
    response = form_post(
        manager_client, "tools/new", PAGES[Kind.TOOL].starter, **{"type": "rag_custom", "name": "Search"}
    )

    assert response.status_code == 400
    text = html(response)
    assert error_next_to(text, "config.prompt") == ["This field is required."]
    assert 'name="config.databaseConfig.token.id"' in text and "<legend>Database config</legend>" in text


def test_choosing_another_type_shows_its_fields_and_saves_nothing(world: ApiClient, manager_client: Client):
    before = snapshot()
    form = html(manager_client.get(page("tools/new")))
    assert "data-variant" in form and 'name="save" value="switch"' in form

    response = form_post(
        manager_client, "tools/new", PAGES[Kind.TOOL].starter, save="switch", type="rag_custom", name="Search"
    )

    assert response.status_code == 200
    text = html(response)
    assert field_errors(text) == [] and page_errors(text) == []
    assert 'name="config.databaseConfig.token.id"' in text and 'value="Search"' in text
    assert textarea_json(text)["type"] == "rag_custom"
    assert snapshot() == before


def test_saving_from_the_advanced_tab_takes_the_json_as_it_is(world: ApiClient, manager_client: Client, tenant: Tenant):
    body = custom_mcp_body(name="From JSON")

    response = post_form(
        manager_client,
        "mcp-servers/mcp1/edit",
        {"save": "json", "body": json.dumps(body), "version": "1", "name": "From the form"},
    )

    assert response.status_code == 302
    assert stored(tenant, Kind.MCP_SERVER, "mcp1").name == "From JSON"


# --- enable and disable ----------------------------------------------------------------------------------------------


def test_one_click_disables_an_agent_and_is_audited(world: ApiClient, manager_client: Client, tenant: Tenant):
    listed = html(manager_client.get(page("agents/")))
    assert 'action="/console/acme/agents/a1/enable"' in listed and 'aria-label="Disable Support"' in listed

    response = post_form(
        manager_client, "agents/a1/enable", {"enabled": "false", "version": "1", "next": "/console/acme/agents/?q=Sup"}
    )

    assert response.status_code == 302 and response["Location"] == "/console/acme/agents/?q=Sup"
    agent = stored(tenant, Kind.AGENT, "a1")
    assert (agent.enabled, agent.version, agent.body["enabled"]) == (False, 2, False)
    event = AuditEvent.objects.get(action=AuditEvent.Action.RESOURCE_SAVE, object_id="a1")
    assert (event.detail, event.username) == ({"kind": "agent", "created": False, "enabled": False}, "mia-manager")


def test_enabling_what_is_enabled_writes_nothing_and_a_stale_click_is_refused(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    before = snapshot()
    again = post_form(manager_client, "mcp-servers/mcp1/enable", {"enabled": "true", "version": "1"})
    assert again.status_code == 302 and again["Location"] == "/console/acme/mcp-servers/mcp1/"
    assert snapshot() == before

    create(tenant, Kind.TOOL, "tool1", stored(tenant, Kind.TOOL, "tool1").body | {"name": "Theirs"})  # version 2
    stale = post_form(manager_client, "tools/tool1/enable", {"enabled": "false", "version": "1"})
    assert stale.status_code == 302
    assert stored(tenant, Kind.TOOL, "tool1").enabled is True
    followed = html(manager_client.get(stale["Location"]))
    assert "someone else changed this tool meanwhile" in followed


def test_the_enable_button_goes_back_only_to_this_tenants_console(world: ApiClient, manager_client: Client):
    response = post_form(
        manager_client, "agents/a1/enable", {"enabled": "false", "version": "1", "next": "https://evil.example/"}
    )

    assert response["Location"] == "/console/acme/agents/a1/"


def test_tokens_have_no_enable_button(world: ApiClient, manager_client: Client):
    assert manager_client.post(page("tokens/t1/enable"), {"enabled": "true", "version": "1"}).status_code == 404


def test_only_the_fields_the_page_showed_are_written_into_the_json(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    """A box the page did not show posts nothing, like an unticked one: it must not turn `enabled` off."""
    text = html(manager_client.get(page("mcp-servers/mcp1/edit")))
    assert 'name="shown" value="type name enabled transport config.url' in text
    body = custom_mcp_body("t1")  # enabled

    response = post_form(
        manager_client,
        "mcp-servers/mcp1/edit",
        {"save": "form", "body": json.dumps(body), "version": "1", "shown": "name", "name": "Renamed"},
    )

    assert response.status_code == 302
    server = stored(tenant, Kind.MCP_SERVER, "mcp1")
    assert (server.name, server.enabled) == ("Renamed", True)


def test_a_text_in_many_languages_shows_a_bounded_number_of_them_and_keeps_the_rest():
    names = {f"l{i}": f"Name {i}" for i in range(50)}
    generated = fields_of(Kind.AGENT, agent_body("t1") | {"name": names})

    shown = [name for name in generated.fields if name.startswith("name.")]
    assert len(shown) == 20
    result = merged({"name": names}, generated.inputs, {"name.l0": "Renamed"})
    assert result["name"] == names | {"l0": "Renamed"}

"""The catalogue's forms in a real browser: a manager creates and edits an agent, a tool, an MCP server and a token
through the fields generated from the API's serializers, sees the API's errors next to the field at fault, uses the
Advanced (JSON) tab, and enables an agent with one click. Also renders the README's screenshots of the forms."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from playwright.sync_api import Locator, Page, expect

from apps.agents.crypto import decrypt_value
from apps.agents.models import Agent, Kind, McpServer, Token, Tool
from apps.audit.models import AuditEvent
from apps.tenants.models import Tenant
from tests.agents.conftest import create, custom_mcp_body, stored, token_body
from tests.browser.conftest import signed_in

ACME = "/console/acme"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def tokens(tenant: Tenant, other_tenant: Tenant) -> None:
    """acme's two tokens (the pickers offer them), and one of globex's (they must not)."""
    create(tenant, Kind.TOKEN, "openai-key", token_body("OpenAI key", "sk-test-1"))
    create(tenant, Kind.TOKEN, "orders-mcp-key", token_body("Orders MCP key", "mcp-test-2"))
    create(other_tenant, Kind.TOKEN, "globex-key", token_body("Globex key", "globex-secret"))


def error_of(page: Page, field_name: str) -> Locator:
    """The list of errors shown beside one field (templates/console/catalogue/_form_field.html)."""
    return page.locator(f'[id="id_{field_name}_error"]')


def control(page: Page, field_name: str) -> Locator:
    return page.locator(f'[name="{field_name}"]')


def create_button(page: Page) -> Locator:
    return page.locator("#tab-form").get_by_role("button", name=re.compile(r"^(Create|Save)$"))


def test_a_manager_creates_and_edits_an_agent_through_the_form(
    page: Page, manager_user: AbstractBaseUser, tenant: Tenant, tokens: None
) -> None:
    signed_in(page, manager_user)
    page.goto(f"{ACME}/agents/")
    page.get_by_role("link", name="New agent").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New agent")

    page.get_by_label("Id", exact=True).fill("returns-desk")
    page.get_by_label("Name (en)").fill("Returns desk")
    page.get_by_label("Type").select_option("complaint")
    page.get_by_label("Prompt").fill("Take returns within 30 days.")
    page.get_by_label("Provider").select_option("openai")

    # Choosing the provider shows its fields at once (its key's token picker), and saves nothing.
    picker = control(page, "llmConfig.token.id")
    expect(picker).to_be_visible()
    expect(page.locator(".field-errors")).to_have_count(0)
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("Take returns within 30 days.")
    assert not Agent.objects.filter(public_id="returns-desk").exists()
    page.get_by_label("Callers").get_by_label("customer").check()
    create_button(page).click()

    # No key chosen: the API's error is shown beside the picker.
    expect(error_of(page, "llmConfig.token.id")).to_have_text("This field is required.")
    expect(picker.locator("option")).to_have_text(
        ["— none —", "OpenAI key (openai-key)", "Orders MCP key (orders-mcp-key)"]
    )
    expect(page.get_by_label("Name (en)", exact=True)).to_have_value("Returns desk")  # what was typed stays
    picker.select_option("openai-key")
    create_button(page).click()

    expect(page).to_have_url(re.compile(rf"{ACME}/agents/returns-desk/$"))
    expect(page.locator("main > ul.messages")).to_contain_text("Created the agent returns-desk.")
    agent = stored(tenant, Kind.AGENT, "returns-desk")
    assert isinstance(agent, Agent)
    assert (agent.name, agent.agent_type, agent.enabled) == ("Returns desk", "complaint", False)
    assert agent.body["llmConfig"]["token"] == {"id": "openai-key"}
    assert agent.body["requiredScopes"] == ["customer"]
    assert agent.body["triggers"] == [{"type": "endpoint"}]  # the JSON's, which the form does not show

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_label("Name (en)")).to_have_value("Returns desk")
    page.get_by_label("Name (en)").fill("Returns and refunds")
    page.get_by_label("Enabled").check()
    page.get_by_label("Temperature").fill("3")
    create_button(page).click()

    expect(error_of(page, "llmConfig.temperature")).to_have_text("Ensure this value is less than or equal to 1.0.")
    page.get_by_label("Temperature", exact=True).fill("0.4")
    create_button(page).click()

    expect(page).to_have_url(re.compile(rf"{ACME}/agents/returns-desk/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Returns and refunds")
    agent.refresh_from_db()
    assert (agent.name, agent.enabled, agent.version) == ("Returns and refunds", True, 2)
    assert agent.body["llmConfig"]["temperature"] == 0.4


def test_the_advanced_tab_edits_the_same_agent_as_json(
    page: Page, manager_user: AbstractBaseUser, tenant: Tenant, tokens: None
) -> None:
    signed_in(page, manager_user)
    page.goto(f"{ACME}/agents/new")
    json_box = page.locator('textarea[name="body"]')
    expect(json_box).to_be_hidden()

    page.get_by_role("tab", name="Advanced (JSON)").click()

    expect(json_box).to_be_visible()
    expect(page.get_by_label("Name (en)")).to_be_hidden()
    document = json.loads(json_box.input_value())
    document |= {"name": {"en": "From JSON"}, "triggers": [{"type": "slack"}]}
    json_box.fill(json.dumps(document))
    page.get_by_label("Id", exact=True).fill("from-json")
    page.get_by_role("button", name="Create from the JSON").click()

    expect(page).to_have_url(re.compile(rf"{ACME}/agents/from-json/$"))
    assert stored(tenant, Kind.AGENT, "from-json").body["triggers"] == [{"type": "slack"}]


def test_a_manager_creates_and_edits_a_tool_through_the_form(
    page: Page, manager_user: AbstractBaseUser, tenant: Tenant, tokens: None
) -> None:
    signed_in(page, manager_user)
    page.goto(f"{ACME}/tools/new")

    page.get_by_label("Id", exact=True).fill("slack-support")
    page.get_by_label("Name", exact=True).fill("Slack #support")
    page.get_by_label("Allowed operations").get_by_label("sendMessage").check()
    create_button(page).click()

    expect(error_of(page, "config.teamId")).to_have_text("This field may not be blank.")
    page.get_by_label("Team id", exact=True).fill("T0445953")
    create_button(page).click()

    expect(page).to_have_url(re.compile(rf"{ACME}/tools/slack-support/$"))
    tool = stored(tenant, Kind.TOOL, "slack-support")
    assert isinstance(tool, Tool)
    assert tool.body["config"] == {"teamId": "T0445953", "allowedOperations": ["sendMessage"]}

    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Allowed operations").get_by_label("createChannel").check()
    page.get_by_label("Enabled").check()
    create_button(page).click()

    expect(page).to_have_url(re.compile(rf"{ACME}/tools/slack-support/$"))
    tool.refresh_from_db()
    assert tool.enabled and tool.body["config"]["allowedOperations"] == ["sendMessage", "createChannel"]


def test_a_manager_creates_and_edits_an_mcp_server_through_the_form(
    page: Page, manager_user: AbstractBaseUser, tenant: Tenant, tokens: None
) -> None:
    signed_in(page, manager_user)
    page.goto(f"{ACME}/mcp-servers/new")

    page.get_by_label("Id", exact=True).fill("orders")
    page.get_by_label("Name", exact=True).fill("Orders MCP")
    page.get_by_label("Transport").select_option("sse")
    page.get_by_label("URL").fill("ftp://mcp.internal/orders")
    page.get_by_label("Authorization header").fill("Authorization")
    credential = page.get_by_label("Credential")
    expect(credential.locator("option")).not_to_contain_text(["Globex key (globex-key)"])
    credential.select_option("orders-mcp-key")
    create_button(page).click()

    expect(error_of(page, "config.url")).to_have_text("Enter an http:// or https:// URL.")
    expect(page.get_by_label("Credential", exact=True)).to_have_value("orders-mcp-key")
    page.get_by_label("URL", exact=True).fill("https://mcp.internal/orders")
    create_button(page).click()

    expect(page).to_have_url(re.compile(rf"{ACME}/mcp-servers/orders/$"))
    expect(page.get_by_role("link", name="Orders MCP key")).to_be_visible()  # under Uses
    server = stored(tenant, Kind.MCP_SERVER, "orders")
    assert isinstance(server, McpServer)
    assert server.body["transport"] == "sse"
    assert server.body["config"] == {
        "url": "https://mcp.internal/orders",
        "authorizationHeaderName": "Authorization",
        "authorizationHeaderToken": {"id": "orders-mcp-key"},
    }

    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Credential").select_option("")
    page.get_by_label("Name", exact=True).fill("Orders (public)")
    create_button(page).click()

    expect(page).to_have_url(re.compile(rf"{ACME}/mcp-servers/orders/$"))
    server.refresh_from_db()
    assert server.name == "Orders (public)" and "authorizationHeaderToken" not in server.body["config"]


def test_a_manager_creates_and_renames_a_token_through_the_form(
    page: Page, manager_user: AbstractBaseUser, tenant: Tenant, tokens: None
) -> None:
    signed_in(page, manager_user)
    page.goto(f"{ACME}/tokens/new")
    expect(page.get_by_role("tab")).to_have_count(0)  # a token has no JSON: its value is never shown

    page.get_by_label("Id", exact=True).fill("qdrant-key")
    page.get_by_label("Value").fill("qdrant-secret-value")
    create_button(page).click()

    expect(error_of(page, "name")).to_have_text("This field may not be blank.")
    expect(page.get_by_label("Value", exact=True)).to_have_value("")  # never sent back
    page.get_by_label("Name", exact=True).fill("Qdrant key")
    page.get_by_label("Value", exact=True).fill("qdrant-secret-value")
    create_button(page).click()

    expect(page).to_have_url(re.compile(rf"{ACME}/tokens/qdrant-key/$"))
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_label("Value")).to_have_count(0)  # a token's value cannot be changed
    page.get_by_label("Name", exact=True).fill("Qdrant read key")
    create_button(page).click()

    expect(page).to_have_url(re.compile(rf"{ACME}/tokens/qdrant-key/$"))
    token = stored(tenant, Kind.TOKEN, "qdrant-key")
    assert isinstance(token, Token)
    assert (token.name, decrypt_value(token.encrypted_value)) == ("Qdrant read key", "qdrant-secret-value")


def test_one_click_enables_an_agent_from_the_list_and_disables_it_from_its_page(
    page: Page, manager_user: AbstractBaseUser, tenant: Tenant, tokens: None
) -> None:
    create(tenant, Kind.AGENT, "helper", _agent("Helper", enabled=False))
    signed_in(page, manager_user)
    page.goto(f"{ACME}/agents/")

    page.get_by_role("button", name="Enable Helper").click()

    expect(page).to_have_url(re.compile(rf"{ACME}/agents/$"))
    expect(page.locator("main > ul.messages")).to_have_text("The agent Helper (helper) is enabled.")
    expect(page.locator("table.grid tbody tr").first.locator(".badge")).to_have_text("enabled")
    assert stored(tenant, Kind.AGENT, "helper").enabled

    page.get_by_role("link", name="Helper").click()
    page.get_by_role("button", name="Disable Helper").click()

    expect(page).to_have_url(re.compile(rf"{ACME}/agents/helper/$"))
    expect(page.locator("dl.fields .badge")).to_have_text("disabled")
    assert not stored(tenant, Kind.AGENT, "helper").enabled
    events = AuditEvent.objects.filter(object_id="helper").order_by("pk")
    assert [event.detail["enabled"] for event in events] == [True, False]


def _agent(name: str, *, enabled: bool) -> dict[str, Any]:
    return {
        "name": {"en": name},
        "enabled": enabled,
        "userPrompt": "Help.",
        "triggers": [{"type": "endpoint"}],
        "llmConfig": {"provider": "openai", "model": "gpt-4.1-mini", "token": {"id": "openai-key"}},
        "mcpServers": [],
    }


@pytest.mark.screenshots
def test_screenshots_of_the_forms(
    page: Page, manager_user: AbstractBaseUser, tenant: Tenant, tokens: None, tmp_path: Path
) -> None:
    """The README's pictures of the agent and MCP server forms, 1280 px wide: written to docs/screenshots with
    SCREENSHOTS=1, to a temporary folder otherwise (the pages are still rendered and checked)."""
    folder = SCREENSHOTS if os.environ.get("SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    support = _agent("Customer support", enabled=True) | {
        "type": "support",
        "description": {"en": "Answers questions about orders, deliveries and returns."},
        "userPrompt": "Help customers with their orders. Look orders up before answering; never guess a date.",
        "requiredScopes": ["customer"],
        "tags": ["orders", "returns"],
    }
    create(tenant, Kind.AGENT, "support", support)
    create(tenant, Kind.MCP_SERVER, "orders", custom_mcp_body("orders-mcp-key", name="Orders MCP"))
    signed_in(page, manager_user)

    def shoot(name: str) -> None:
        page.mouse.move(0, 0)
        page.screenshot(path=folder / f"{name}.png", animations="disabled", caret="hide", full_page=True)
        assert (folder / f"{name}.png").stat().st_size > 10_000

    page.goto(f"{ACME}/agents/support/edit")
    page.get_by_label("Temperature").fill("3")  # a refused value, to show the error beside its field
    create_button(page).click()
    expect(error_of(page, "llmConfig.temperature")).to_be_visible()
    shoot("agent-form")

    page.goto(f"{ACME}/mcp-servers/orders/edit")
    expect(page.get_by_label("Credential")).to_have_value("orders-mcp-key")
    shoot("mcp-server-form")

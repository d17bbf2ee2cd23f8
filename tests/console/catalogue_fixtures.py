"""Data and helpers for the catalogue page tests: acme's catalogue (tests.agents.conftest.Catalogue: token t1, tool
tool1, MCP server mcp1, agent helper, and agent a1 using all of them), an API client, export files, and a snapshot
of everything a page could write."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from apps.accounts.models import ApiClient
from apps.accounts.services import api_client_create
from apps.agents.bundle import bundle_encode
from apps.agents.models import Agent, McpServer, Reference, Token, Tool
from apps.audit.models import AuditEvent
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.agents.conftest import agent_body, custom_mcp_body, rag_tool_body, slack_tool_body

LONG_ID = "m" * 300  # longer than an id column holds: its import fails

# Pages anyone of the tenant may read, relative to /console/acme/.
READ_PAGES = [
    "agents/",
    "agents/a1/",
    "tools/",
    "tools/tool1/",
    "mcp-servers/",
    "mcp-servers/mcp1/",
    "tokens/",
    "tokens/t1/",
    "import/",
    "clients/",
]
# Pages that show a form that writes: managers only.
WRITE_PAGES = [
    "agents/new",
    "tools/new",
    "mcp-servers/new",
    "tokens/new",
    "agents/a1/edit",
    "agents/a1/delete",
    "tools/tool1/edit",
    "tools/tool1/delete",
    "mcp-servers/mcp1/edit",
    "mcp-servers/mcp1/delete",
    "tokens/t1/edit",
    "tokens/t1/delete",
    "clients/new",
    "clients/{client}/revoke",
]
# Every URL that writes when POSTed to.
ACTIONS = [
    "agents/export",
    "agents/a1/enable",
    "tools/tool1/enable",
    "mcp-servers/mcp1/enable",
    *WRITE_PAGES,
    "import/preview",
    "import/confirm",
]


def page(path: str, client_id: str = "", tenant: str = "acme") -> str:
    return f"/console/{tenant}/" + path.format(client=client_id)


def html(response: Any) -> str:
    return str(response.content.decode())


def make_api_client(tenant: Tenant, name: str = "Nightly sync") -> ApiClient:
    return api_client_create(tenant=tenant, scopes=["ai.agent_read"], name=name).client


def snapshot() -> dict[str, Any]:
    """Every row a catalogue page could add, change or delete, in every tenant."""
    return {
        "agents": sorted(Agent.objects.values_list("tenant_id", "public_id", "version", "body")),
        "tools": sorted(Tool.objects.values_list("tenant_id", "public_id", "version", "enabled")),
        "mcp_servers": sorted(McpServer.objects.values_list("tenant_id", "public_id", "version", "enabled")),
        "tokens": sorted(Token.objects.values_list("tenant_id", "public_id", "version", "encrypted_value")),
        "references": sorted(
            Reference.objects.values_list("tenant_id", "source_kind", "source_id", "target_kind", "target_id")
        ),
        "jobs": sorted(Job.objects.values_list("tenant_id", "job_id")),
        "audit": AuditEvent.objects.count(),
        "clients": sorted(ApiClient.objects.values_list("client_id", "revoked_at")),
    }


# --- export files ----------------------------------------------------------------------------------------------------


def preview_document() -> dict[str, Any]:
    """A bundle that, imported into acme's catalogue, gives every state: tool1 EXISTS, newtool ENABLED, needs-key
    DISABLED (its token is missing), slack1 TO_CREATE (not importable), the MCP server with too long an id FAILED;
    agents always DISABLED, a1 under a new id (acme has an a1)."""
    return {
        "formatVersion": 1,
        "agents": [
            {"id": "a1", **agent_body("t1", name="Taken")},
            {"id": "fresh", **agent_body("t1", name="Fresh", tools=("newtool", "slack1"))},
        ],
        "tools": [
            {"id": "tool1", **rag_tool_body("t1")},
            {"id": "newtool", **rag_tool_body("t1", name="New search")},
            {"id": "needs-key", **rag_tool_body("nokey", name="Keyless")},
            {"id": "slack1", **slack_tool_body()},
        ],
        "mcpServers": [{"id": LONG_ID, **custom_mcp_body(None, name="Too long")}],
        "tokens": [{"id": "t1", "name": "LLM key"}, {"id": "nokey", "name": "Missing key"}],
    }


def saved_export(document: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What upstream's console saves for an export: {exportedAt, data, checksum}."""
    data, checksum = bundle_encode(document)
    return {"exportedAt": "2025-03-01T10:00:00.000Z", "data": data, "checksum": checksum, **changes}


def export_file(content: dict[str, Any] | bytes, name: str = "export.json") -> SimpleUploadedFile:
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    return SimpleUploadedFile(name, raw, content_type="application/json")


def preview_states(text: str) -> dict[str, dict[str, str]]:
    """{section: {entry id: state}} from an import preview page."""
    sections = re.findall(r'<section data-section="(\w+)">(.*?)</section>', text, re.S)
    return {key: dict(re.findall(r'data-entry-id="([^"]*)" data-state="([A-Z_]+)"', body)) for key, body in sections}


def field_errors(text: str) -> list[str]:
    """The error messages shown next to the fields of a form page."""
    lists = re.findall(r'<ul class="field-errors"[^>]*>(.*?)</ul>', text, re.S)
    return [_text(item) for block in lists for item in re.findall(r"<li>(.*?)</li>", block, re.S)]


def page_errors(text: str) -> list[str]:
    """The error messages shown above a form."""
    return [_text(item) for item in re.findall(r'<li class="msg-error">(.*?)</li>', text, re.S)]


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", fragment))).strip()

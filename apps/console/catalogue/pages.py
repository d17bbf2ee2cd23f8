"""What every catalogue page shares: each kind's page (paths, names, what its create form starts from), the
resource looked up for a page (another tenant's, or a missing one, is a 404), and how resources and their
relations are shown."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import Http404
from django.urls import NoReverseMatch, reverse

from apps.agents import selectors as agent_selectors
from apps.agents.models import Kind
from apps.agents.names import with_article
from apps.agents.representation import AnyResource
from apps.console.access import TenantAccess
from apps.console.catalogue.selectors import RelatedList
from apps.core.ids import is_stored_id

PAGE_SIZE = 50


@dataclass(frozen=True)
class KindPage:
    kind: Kind
    segment: str  # in paths and URL names: "mcp-servers", "console:mcp-servers-detail"
    noun: str
    plural: str
    starter: dict[str, Any]  # what the create form starts from

    @property
    def title(self) -> str:
        return self.plural[0].upper() + self.plural[1:]

    @property
    def a_noun(self) -> str:
        return with_article(self.noun)

    def url(self, action: str, tenant: str, public_id: str | None = None) -> str:
        args = [tenant] if public_id is None else [tenant, public_id]
        return reverse(f"console:{self.segment}{'-' + action if action else ''}", args=args)

    def link(self, action: str, tenant: str, public_id: str) -> str | None:
        """The page of one resource, or None for an id no path can hold (an empty one, stored before ids were
        checked): a list must show such a row, not fail on it."""
        try:
            return self.url(action, tenant, public_id)
        except NoReverseMatch:
            return None


PAGES = {
    page.kind: page
    for page in (
        KindPage(
            Kind.AGENT,
            "agents",
            "agent",
            "agents",
            {
                "name": {"en": "New agent"},
                "description": {"en": ""},
                "type": "support",
                "enabled": False,
                "userPrompt": "",
                "triggers": [{"type": "endpoint"}],
                "llmConfig": {"provider": "emporix_openai", "model": "gpt-4.1-mini"},
                "mcpServers": [],
                "nativeTools": [],
                "agentCollaborations": [],
            },
        ),
        KindPage(
            Kind.TOOL,
            "tools",
            "tool",
            "tools",
            {"name": "New tool", "type": "slack", "enabled": False, "config": {"teamId": ""}},
        ),
        KindPage(
            Kind.MCP_SERVER,
            "mcp-servers",
            "MCP server",
            "MCP servers",
            {
                "name": "New MCP server",
                "type": "custom",
                "enabled": False,
                "transport": "streamable_http",
                "config": {"url": "https://"},
            },
        ),
        KindPage(Kind.TOKEN, "tokens", "token", "tokens", {}),
    )
}


def page_context(access: TenantAccess, page: KindPage) -> dict[str, Any]:
    tenant = access.tenant.name
    return {
        "access": access,
        "section": page.segment,
        "kind": page,
        "list_url": page.url("", tenant),
        "new_url": page.url("new", tenant),
        "export_url": PAGES[Kind.AGENT].url("export", tenant) if page.kind == Kind.AGENT else None,
    }


def resource_or_404(access: TenantAccess, kind: Kind, public_id: str) -> AnyResource:
    found = None
    if is_stored_id(public_id):  # no other id can be stored
        found = agent_selectors.resource_get(tenant=access.tenant.name, kind=kind, public_id=public_id)
    if found is None:
        raise Http404(f"No such {PAGES[kind].noun}.")
    return found


def resource_row(page: KindPage, tenant: str, resource: AnyResource) -> dict[str, Any]:
    return {
        "id": resource.public_id,
        "name": resource.name,
        "type": getattr(resource, "agent_type", None) or getattr(resource, "type", None),
        "enabled": getattr(resource, "enabled", None),
        "version": resource.version,
        "created": resource.created_at,
        "modified": resource.modified_at,
        "url": page.link("detail", tenant, resource.public_id),
        "edit_url": page.link("edit", tenant, resource.public_id),
        "delete_url": page.link("delete", tenant, resource.public_id),
        "enable_url": page.link("enable", tenant, resource.public_id) if page.kind != Kind.TOKEN else None,
    }


def related_links(tenant: str, related: RelatedList) -> dict[str, Any]:
    items = [
        {
            "kind": PAGES[item.kind].noun,
            "id": item.public_id,
            "name": item.name,
            "url": None if item.name is None else PAGES[item.kind].link("detail", tenant, item.public_id),
        }
        for item in related.items
    ]
    return {"items": items, "more": related.more}


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and raw.isascii() and 1 <= int(raw) <= 100_000 else 1


def list_link(base: str, q: str, number: int) -> str:
    query = {**({"q": q} if q else {}), **({"page": str(number)} if number > 1 else {})}
    return f"{base}?{urlencode(query)}" if query else base

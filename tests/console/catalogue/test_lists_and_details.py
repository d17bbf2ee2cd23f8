"""The console's catalogue pages: the lists of agents, tools, MCP servers and tokens, and their detail pages."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from django.test import Client

from apps.accounts.models import ApiClient
from apps.agents.models import Kind
from apps.tenants.models import Tenant
from tests.agents.conftest import (
    agent_body,
    create,
)
from tests.console.catalogue_fixtures import (
    html,
    page,
)


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

"""The console's catalogue pages (agents, tools, MCP servers, tokens, export, import, API clients): the access
checklist for every URL (anonymous, outsider, viewer, manager, platform admin)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import ApiClient
from tests.console.catalogue_fixtures import (
    ACTIONS,
    READ_PAGES,
    WRITE_PAGES,
    html,
    page,
    snapshot,
)


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
    writes = ('/new"', '/edit"', '/delete"', '/enable"', 'agents/export"', 'import/preview"', '/revoke"')
    for target in (*writes, 'name="agent_ids"'):
        assert target not in text, f"a viewer is offered {target} on {path}"


@pytest.mark.parametrize(
    "path, targets",
    [
        ("agents/", ['agents/new"', 'agents/export"', 'name="agent_ids"', 'agents/a1/enable"']),
        ("agents/a1/", ['agents/a1/edit"', 'agents/a1/delete"', 'agents/export"', 'agents/a1/enable"']),
        ("mcp-servers/", ['mcp-servers/mcp1/enable"']),
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

"""Console pages of resources whose id holds a "/" or was stored before ids were checked: links percent-encode
the whole id, so each opens its own resource; the agents page never fails on a bad id, and such a row can be
deleted; the create forms refuse what the API's PUT refuses."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from apps.agents.models import Agent, Kind
from apps.tenants.models import Tenant
from tests.agents.conftest import agent_body, create, token_body
from tests.agents.test_ids import BAD_IDS


@pytest.fixture
def with_token(tenant: Tenant) -> Tenant:
    create(tenant, Kind.TOKEN, "t1", token_body())
    return tenant


def bad_row(tenant: Tenant, public_id: str) -> Agent:
    """An agent stored before ids were checked, as the signed bundle of the finding made one."""
    return Agent.objects.create(tenant=tenant, public_id=public_id, name="Broken", body=agent_body("t1", name="Broken"))


@pytest.fixture
def console(manager_client: Client, with_token: Tenant) -> Client:
    return manager_client


def test_an_agent_with_a_slash_in_its_id_has_encoded_links_that_open_it(console: Client, with_token: Tenant) -> None:
    create(with_token, Kind.AGENT, "a/b", agent_body("t1", name="Slashed"))
    create(with_token, Kind.AGENT, "b", agent_body("t1", name="Just b"))

    listing = console.get("/console/acme/agents/").content.decode()

    links = {f"/console/acme/agents/a%252Fb/{action}" for action in ("", "edit", "delete")}
    assert "/console/acme/agents/a%252Fb/" in listing
    detail = console.get("/console/acme/agents/a%252Fb/").content.decode()
    assert all(link in detail for link in links - {"/console/acme/agents/a%252Fb/"}), detail
    for link in links:
        response = console.get(link)
        assert response.status_code == 200, link
        assert "a/b" in response.content.decode() and "Just b" not in response.content.decode()


def test_a_bad_id_stored_before_the_check_never_breaks_the_agents_page_and_can_be_deleted(
    console: Client, with_token: Tenant
) -> None:
    """Regression: an agent `broken/` made the agents page answer 500 for good, and nothing could delete it."""
    # Each id is one path segment in its links, whatever it holds ("%2F" written "%252F" once reverse() is done).
    encoded = {
        "broken/": "broken%252F",
        "..": "%252E%252E",
        "/lead": "%252Flead",
        "a//b": "a%252F%252Fb",
        "a/../b": "a%252F..%252Fb",
    }
    for public_id in encoded:
        bad_row(with_token, public_id)

    listing = console.get("/console/acme/agents/")

    assert listing.status_code == 200
    for public_id, segment in encoded.items():
        link = f"/console/acme/agents/{segment}"
        assert link + "/" in listing.content.decode(), public_id
        assert console.get(link + "/").status_code == 200, public_id
        assert console.post(link + "/delete", {}).status_code == 302, public_id
        assert not Agent.objects.filter(tenant=with_token, public_id=public_id).exists()


@pytest.mark.parametrize("kind", ["agents", "tokens"])
@pytest.mark.parametrize("public_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_the_create_form_refuses_a_bad_id_with_a_form_error(
    console: Client, with_token: Tenant, kind: str, public_id: str
) -> None:
    data = (
        {"public_id": public_id, "name": "Key", "value": "sk-1"}
        if kind == "tokens"
        else {"public_id": public_id, "body": json.dumps(agent_body("t1"))}
    )

    response = console.post(f"/console/acme/{kind}/new", data)

    assert response.status_code == 400
    assert 'id="id_public_id_error"' in response.content.decode()
    assert not Agent.objects.filter(tenant=with_token).exists()


def test_editing_a_row_whose_id_is_now_refused_is_refused_like_the_api_put(console: Client, with_token: Tenant):
    bad_row(with_token, "broken/")

    response = console.post(
        "/console/acme/agents/broken%252F/edit", {"body": json.dumps(agent_body("t1")), "version": "1"}
    )

    assert response.status_code == 400
    assert "cannot be saved under its id" in response.content.decode()
    assert Agent.objects.get(tenant=with_token, public_id="broken/").version == 1


def test_a_row_with_an_empty_id_is_listed_without_links_and_the_page_still_answers(
    console: Client, with_token: Tenant
) -> None:
    bad_row(with_token, "")
    create(with_token, Kind.AGENT, "fine", agent_body("t1", name="Fine"))

    response = console.get("/console/acme/agents/")

    assert response.status_code == 200
    assert 'href="/console/acme/agents/fine/"' in response.content.decode()
    assert "<td>Broken</td>" in response.content.decode()  # shown, as text: no path can hold an empty id

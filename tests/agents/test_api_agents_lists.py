"""/ai-service/{tenant}/agentic/agents: lists and searches (q, sort, fields, paging)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.agents.models import Agent, Kind
from tests.agents.conftest import (
    agent_body,
    assert_bad_request,
    create,
    ids,
    search,
    token_body,
    url,
)

AGENT = Kind.AGENT


BASE = datetime(2025, 11, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def agents(tenant: Any) -> None:
    create(tenant, Kind.TOKEN, "t1", token_body())
    for n, (public_id, name, agent_type, enabled) in enumerate(
        [("g1", "Generic", "generic", True), ("s1", "Support", "support", False), ("c1", "Complaints", None, True)]
    ):
        body = agent_body("t1", name=name, enabled=enabled, type=agent_type)
        if agent_type is None:
            del body["type"]
        create(tenant, AGENT, public_id, body)
        Agent.objects.filter(public_id=public_id).update(created_at=BASE + timedelta(minutes=n))


@pytest.mark.parametrize(
    "q, expected",
    [
        ("", ["c1", "s1", "g1"]),
        ("name:Support", ["s1"]),
        ("name:~PLAIN", ["c1"]),
        ('name:"Generic"', ["g1"]),
        ("type:SUPPORT", ["s1"]),
        ("type:(generic,support)", ["s1", "g1"]),
        ("type:null", ["c1"]),
        ("type:exists", ["s1", "g1"]),
        ("enabled:true", ["c1", "g1"]),
        ("enabled:true type:generic", ["g1"]),
        ("id:(g1,c1)", ["c1", "g1"]),
        ('metadata.createdAt:>="2025-11-04T12:01:00Z"', ["c1", "s1"]),
        ('metadata.createdAt:(>"2025-11-04T12:00:00Z" AND <"2025-11-04T12:02:00Z")', ["s1"]),
        ("metadata.version:>1", []),
    ],
)
def test_agents_are_searched_newest_first(manager, agents, q, expected):
    assert ids(manager.get(url(AGENT, q=q))) == expected
    assert ids(search(manager, AGENT, q)) == expected


@pytest.mark.parametrize(
    "q, fragment",
    [("name", "':'"), ("type:sales", "allowed values"), ("userPrompt:x", "searchable fields"), ('name:"open', "quote")],
)
def test_a_bad_q_is_a_400_naming_the_problem(manager, agents, q, fragment):
    assert_bad_request(manager.get(url(AGENT, q=q)), "q", fragment)
    assert_bad_request(search(manager, AGENT, q), "q", fragment)


def test_a_search_body_must_be_an_object_with_a_string_q(manager, agents):
    assert_bad_request(manager.post(url(AGENT, "search"), [], content_type="application/json"), "body")
    assert_bad_request(manager.post(url(AGENT, "search"), {"q": 7}, content_type="application/json"), "q")
    assert ids(manager.post(url(AGENT, "search"), {}, content_type="application/json")) == ["c1", "s1", "g1"]


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("name", ["c1", "g1", "s1"]),
        ("name:desc", ["s1", "g1", "c1"]),
        ("metadata.createdAt", ["g1", "s1", "c1"]),
        ("enabled,name:desc", ["s1", "g1", "c1"]),
        ("id:DESC", ["s1", "g1", "c1"]),
    ],
)
def test_agents_are_sorted_by_the_sort_keys(manager, agents, sort, expected):
    assert ids(manager.get(url(AGENT, sort=sort))) == expected


def test_an_unknown_sort_field_is_a_400(manager, agents):
    assert_bad_request(manager.get(url(AGENT, sort="userPrompt")), "sort")


def test_fields_pick_top_level_and_nested_parts(manager, agents):
    response = manager.get(url(AGENT, q="id:g1", fields="name.en,enabled,metadata.version"))
    assert response.body == [
        {
            "id": "g1",
            "name": {"en": "Generic"},
            "enabled": True,
            "metadata": manager.get(url(AGENT, "g1")).body["metadata"],
        }
    ]
    one = manager.get(url(AGENT, "g1", fields="llmConfig.model,userPrompt")).body
    assert one == {"id": "g1", "llmConfig": {"model": "gpt-4.1-mini"}, "userPrompt": "Help the customer with orders."}


@pytest.mark.parametrize("fields", ["colour", "nativeTools.id", "metadata.owner"])
def test_an_unknown_field_in_fields_is_a_400(manager, agents, fields):
    assert_bad_request(manager.get(url(AGENT, fields=fields)), "fields")
    assert_bad_request(manager.get(url(AGENT, "g1", fields=fields)), "fields")


def test_pages_follow_each_other_without_gaps_or_overlaps_and_the_total_is_given(manager, agents):
    pages = [
        manager.get(url(AGENT, pageSize="2", pageNumber=str(n), sort="name"), HTTP_X_TOTAL_COUNT="true")
        for n in (1, 2, 3)
    ]
    assert [ids(page) for page in pages] == [["c1", "g1"], ["s1"], []]
    assert {page["X-Total-Count"] for page in pages} == {"3"}


@pytest.mark.parametrize("params", [{"pageSize": "0"}, {"pageSize": "1001"}, {"pageNumber": "-1"}, {"pageSize": "x"}])
def test_bad_paging_is_a_400_naming_the_parameter(manager, agents, params):
    assert_bad_request(manager.get(url(AGENT, **params)), next(iter(params)))


def test_deep_pages_are_read_in_two_steps_with_the_same_result(manager, tenant):
    Agent.objects.bulk_create(
        Agent(tenant=tenant, public_id=f"bulk-{n:04d}", name=f"Bulk {n}", body={"name": {"en": f"Bulk {n}"}})
        for n in range(1010)
    )
    deep = ids(manager.get(url(AGENT, sort="id", pageSize="500", pageNumber="3")))
    assert deep == [f"bulk-{n:04d}" for n in range(1000, 1010)]
    shallow = ids(manager.get(url(AGENT, sort="id:desc", pageSize="10")))
    assert shallow == [f"bulk-{n:04d}" for n in range(1009, 999, -1)]

"""Property-based run of the console's create and edit forms of agents, tools, MCP servers and tokens: any id,
any JSON (NUL, lone surrogates as JSON escapes, numbers beyond any float, deep nesting, wrong types anywhere in a
valid body) gets a page that says what is wrong, never a 5xx; and nothing stored afterwards breaks the pages.

Bounded and deterministic by default; for a longer local hunt: `CONSOLE_FUZZ_EXAMPLES=1000 pytest <this file>`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.agents.models import RESOURCE_MODELS, Kind
from apps.console.catalogue.generated import generate
from apps.tenants.models import Tenant
from tests.agents.conftest import agent_body, create, custom_mcp_body, dynamic_mcp_body, rag_tool_body, token_body

MAX_EXAMPLES = int(os.environ.get("CONSOLE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    # One tenant and one signed-in session serve every example: rows created by one are there for the next,
    # which is the point (a stored oddity must not break a later page either).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SEGMENTS = {Kind.AGENT: "agents", Kind.TOOL: "tools", Kind.MCP_SERVER: "mcp-servers"}
VALID = {
    Kind.AGENT: agent_body("t1", tools=("tool1",), servers=("mcp1",)),
    Kind.TOOL: rag_tool_body("t1"),
    Kind.MCP_SERVER: custom_mcp_body("t1"),
}

# Text a browser can send in a form field (a lone surrogate cannot be encoded as UTF-8, so no browser sends one).
form_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
odd_strings = st.sampled_from(["", "\x00", "a\x00b", "\ud800", "\udfff x", "../x", "a/", "\u202e", " " * 3])
numbers = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([2**31, 2**63, 10**30, -1, 0, 1e308, 5e-324]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=40), odd_strings)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=12), odd_strings), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document where a value can be swapped for another."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


@st.composite
def bodies(draw: st.DrawFn, kind: Kind) -> str:
    """A JSON text: a valid body with one value swapped for anything, a whole arbitrary document, or text
    nested deeper than any parser allows."""
    choice = draw(st.integers(min_value=0, max_value=9))
    if choice == 0:
        return "[" * 100_000 + "]" * 100_000
    if choice == 1:
        return json.dumps(draw(json_values))
    valid = VALID[kind] if kind != Kind.MCP_SERVER or draw(st.booleans()) else dynamic_mcp_body()
    path = draw(st.sampled_from(_paths(valid)))
    # ensure_ascii: a lone surrogate travels as the escape "\ud800", which is how it reaches a real server too.
    return json.dumps(_replaced(valid, path, draw(json_values)), ensure_ascii=True)


@pytest.fixture
def console(tenant: Tenant, manager_client: Client) -> Client:
    create(tenant, Kind.TOKEN, "t1", token_body())
    create(tenant, Kind.TOOL, "tool1", rag_tool_body("t1"))
    create(tenant, Kind.MCP_SERVER, "mcp1", custom_mcp_body("t1"))
    create(tenant, Kind.AGENT, "a1", agent_body("t1"))
    create(tenant, Kind.TOOL, "edited-tool", rag_tool_body("t1"))
    create(tenant, Kind.MCP_SERVER, "edited-mcp", custom_mcp_body("t1"))
    return manager_client


def assert_no_server_error(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}"


@pytest.mark.parametrize("kind", list(SEGMENTS))
def test_the_create_form_never_answers_5xx(console: Client, kind: Kind) -> None:
    segment = SEGMENTS[kind]

    @FUZZ
    @given(public_id=form_text, body=bodies(kind))
    def run(public_id: str, body: str) -> None:
        response = console.post(f"/console/acme/{segment}/new", {"public_id": public_id, "body": body})
        assert_no_server_error(response, f"create {kind} {public_id!r} {body[:200]!r}")

    run()
    assert console.get(f"/console/acme/{segment}/").status_code == 200


@pytest.mark.parametrize(
    "kind, public_id", [(Kind.AGENT, "a1"), (Kind.TOOL, "edited-tool"), (Kind.MCP_SERVER, "edited-mcp")]
)
def test_the_edit_form_never_answers_5xx(console: Client, kind: Kind, public_id: str) -> None:
    segment = SEGMENTS[kind]

    @FUZZ
    @given(body=bodies(kind), version=st.one_of(form_text, st.integers(min_value=-(10**30), max_value=10**30)))
    def run(body: str, version: Any) -> None:
        response = console.post(f"/console/acme/{segment}/{public_id}/edit", {"body": body, "version": str(version)})
        assert_no_server_error(response, f"edit {kind} {body[:200]!r} version {version!r}")

    run()
    assert console.get(f"/console/acme/{segment}/{public_id}/").status_code == 200


# What a browser can post in a generated field: any text, numbers that are not, and lists (checkboxes).
field_values = st.one_of(
    form_text,
    st.sampled_from(["nan", "inf", "-inf", "1e999", "-0", "0x10", "\x00", " ", "true", "on"]),
    st.lists(form_text, max_size=3),
)


def _document(body: str, kind: Kind) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return VALID[kind]
    return value if isinstance(value, dict) else VALID[kind]


@pytest.mark.parametrize(
    "kind, public_id", [(Kind.AGENT, "a1"), (Kind.TOOL, "edited-tool"), (Kind.MCP_SERVER, "edited-mcp")]
)
def test_saving_from_the_generated_form_never_answers_5xx(console: Client, kind: Kind, public_id: str) -> None:
    """Any JSON in the Advanced tab and anything in the fields the form shows for it, saved from the form."""
    segment = SEGMENTS[kind]

    @FUZZ
    @given(body=bodies(kind), data=st.data())
    def run(body: str, data: st.DataObject) -> None:
        names = list(generate(kind, _document(body, kind), tokens=[("t1", "t1")], secrets=False).fields)
        values = {name: data.draw(field_values, label=name) for name in names}
        version = RESOURCE_MODELS[kind].objects.get(tenant__name="acme", public_id=public_id).version
        posted = {"save": "form", "body": body, "version": str(version), "shown": " ".join(names), **values}
        response = console.post(f"/console/acme/{segment}/{public_id}/edit", posted)
        assert_no_server_error(response, f"form save {kind} {body[:200]!r} {values!r}"[:2000])

    run()
    assert console.get(f"/console/acme/{segment}/{public_id}/").status_code == 200
    assert console.get(f"/console/acme/{segment}/{public_id}/edit").status_code == 200


def test_the_token_forms_never_answer_5xx(console: Client) -> None:
    @FUZZ
    @given(public_id=form_text, name=form_text, value=st.one_of(form_text, st.text(max_size=20_000)), version=form_text)
    def run(public_id: str, name: str, value: str, version: str) -> None:
        value = value.encode("utf-8", "replace").decode("utf-8") if value else value
        created = console.post("/console/acme/tokens/new", {"public_id": public_id, "name": name, "value": value})
        assert_no_server_error(created, f"create token {public_id!r} {name!r}")
        edited = console.post("/console/acme/tokens/t1/edit", {"name": name, "value": value, "version": version})
        assert_no_server_error(edited, f"edit token {name!r} version {version!r}")

    run()
    assert console.get("/console/acme/tokens/").status_code == 200

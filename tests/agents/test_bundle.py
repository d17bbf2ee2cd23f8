"""Export bundles: what bundle_collect puts in, and what bundle_decode lets through to an import."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from apps.agents.bundle import (
    FORMAT_VERSION,
    BundleError,
    agents_unknown,
    bundle_collect,
    bundle_decode,
    bundle_encode,
)
from apps.agents.models import Kind, Token
from apps.tenants.models import Tenant
from tests.agents.conftest import (
    SECRET,
    agent_body,
    create,
    custom_mcp_body,
    rag_tool_body,
    slack_tool_body,
    stored,
    token_body,
)

OTHER_SECRET = "sk-live-Other-9f8e7d6c5b4a-do-not-leak"


def ids(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["id"] for entry in entries]


def decoded(document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The raw JSON text an export carries, and the document read back from it."""
    data, checksum = bundle_encode(document)
    text = base64.b64decode(data).decode("utf-8")
    return text, bundle_decode(data, checksum)


def signed(raw: bytes) -> tuple[str, str]:
    """data and checksum for arbitrary bytes, signed with this installation's key."""
    checksum = hmac.new(settings.EXPORT_SIGNING_KEY.encode(), raw, hashlib.sha256).hexdigest()
    return base64.b64encode(raw).decode("ascii"), checksum


def signed_json(document: Any) -> tuple[str, str]:
    return signed(json.dumps(document).encode())


def minimal(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"formatVersion": FORMAT_VERSION, "agents": [{"id": "a1", "name": {"en": "A"}}]}
    document.update(changes)
    return {key: value for key, value in document.items() if value is not ...}


def refused(data: Any, checksum: Any) -> BundleError:
    with pytest.raises(BundleError) as caught:
        bundle_decode(data, checksum)
    return caught.value


@pytest.fixture
def acme(tenant: Tenant) -> Tenant:
    """Two agents handing off to each other (a cycle), a third that only one of them reaches, and resources that
    none of them uses.

    front --(tool1, llm token t-llm)--> back --(mcp1 with token t-mcp)--> front (the cycle), back --> leaf
    unused: token t-unused, tool tool-unused, MCP server mcp-unused, agent loner.
    """
    create(tenant, Kind.TOKEN, "t-llm", token_body("LLM key", SECRET))
    create(tenant, Kind.TOKEN, "t-tool", token_body("Vector key", OTHER_SECRET))
    create(tenant, Kind.TOKEN, "t-mcp", token_body("MCP key", OTHER_SECRET + "-mcp"))
    create(tenant, Kind.TOKEN, "t-unused", token_body("Unused key", OTHER_SECRET + "-unused"))
    create(tenant, Kind.TOOL, "tool1", rag_tool_body("t-tool"))
    create(tenant, Kind.TOOL, "tool-unused", rag_tool_body("t-unused", name="Unused search"))
    create(tenant, Kind.MCP_SERVER, "mcp1", custom_mcp_body("t-mcp"))
    create(tenant, Kind.MCP_SERVER, "mcp-unused", custom_mcp_body("t-unused", name="Unused MCP"))
    create(tenant, Kind.AGENT, "leaf", agent_body("t-llm", name="Leaf"))
    create(tenant, Kind.AGENT, "loner", agent_body("t-unused", name="Loner", tools=("tool-unused",)))
    create(tenant, Kind.AGENT, "back", agent_body("t-llm", name="Back", servers=("mcp1",), collaborators=("leaf",)))
    create(tenant, Kind.AGENT, "front", agent_body("t-llm", name="Front", tools=("tool1",), collaborators=("back",)))
    # Close the cycle: back hands over to front as well.
    create(
        tenant,
        Kind.AGENT,
        "back",
        agent_body("t-llm", name="Back", servers=("mcp1",), collaborators=("leaf", "front")),
    )
    return tenant


# --- bundle_collect --------------------------------------------------------------------------------------------------


def test_an_export_holds_the_agents_their_collaborators_transitively_and_stops_at_a_cycle(acme):
    document = bundle_collect(tenant=acme, agent_ids=["front"])

    assert document["formatVersion"] == FORMAT_VERSION
    assert sorted(ids(document["agents"])) == ["back", "front", "leaf"]


def test_an_export_starting_anywhere_in_a_cycle_holds_the_same_agents(acme):
    from_front = bundle_collect(tenant=acme, agent_ids=["front"])
    from_back = bundle_collect(tenant=acme, agent_ids=["back"])

    assert sorted(ids(from_back["agents"])) == sorted(ids(from_front["agents"]))


def test_an_export_of_an_agent_without_collaborators_holds_only_that_agent(acme):
    document = bundle_collect(tenant=acme, agent_ids=["leaf"])

    assert ids(document["agents"]) == ["leaf"]
    assert document["tools"] == [] and document["mcpServers"] == []
    assert ids(document["tokens"]) == ["t-llm"]


def test_an_export_holds_the_tools_mcp_servers_and_tokens_every_collected_agent_uses_and_nothing_else(acme):
    document = bundle_collect(tenant=acme, agent_ids=["front"])

    assert ids(document["tools"]) == ["tool1"]
    assert ids(document["mcpServers"]) == ["mcp1"]
    # The agents' LLM token, the tool's token and the MCP server's token; never the unused one.
    assert sorted(ids(document["tokens"])) == ["t-llm", "t-mcp", "t-tool"]


def test_exported_entries_are_the_stored_representation_with_their_id_and_without_metadata(acme):
    document = bundle_collect(tenant=acme, agent_ids=["leaf", "front"])

    [tool] = document["tools"]
    assert tool == {"id": "tool1", **stored(acme, Kind.TOOL, "tool1").body}
    assert tool["config"]["databaseConfig"]["token"] == {"id": "t-tool"}
    front = next(agent for agent in document["agents"] if agent["id"] == "front")
    assert front["nativeTools"] == [{"id": "tool1"}]
    assert front["agentCollaborations"][0]["agentId"] == "back"
    assert all("metadata" not in entry for section in ("agents", "tools", "mcpServers") for entry in document[section])


def test_tokens_are_exported_as_id_and_name_only(acme):
    document = bundle_collect(tenant=acme, agent_ids=["front"])

    assert sorted(document["tokens"], key=lambda t: t["id"]) == [
        {"id": "t-llm", "name": "LLM key"},
        {"id": "t-mcp", "name": "MCP key"},
        {"id": "t-tool", "name": "Vector key"},
    ]


def test_neither_a_token_value_nor_its_encrypted_form_ever_appears_in_an_export(acme):
    text, document = decoded(bundle_collect(tenant=acme, agent_ids=["front"]))

    encrypted = list(Token.objects.filter(tenant=acme).values_list("encrypted_value", flat=True))
    assert encrypted and all(value for value in encrypted)
    for needle in [SECRET, OTHER_SECRET, *encrypted]:
        assert needle not in text
        assert needle not in json.dumps(document)


def test_an_export_never_holds_another_tenants_resources_even_when_they_share_the_ids(acme, other_tenant):
    # globex has resources with the very ids acme's agents use, and more that only globex's copies reference.
    create(other_tenant, Kind.TOKEN, "t-llm", token_body("Globex key", "sk-globex-secret"))
    create(other_tenant, Kind.TOKEN, "t-globex", token_body("Globex only", "sk-globex-only"))
    create(other_tenant, Kind.TOOL, "tool1", rag_tool_body("t-globex", name="Globex search"))
    create(other_tenant, Kind.TOOL, "globex-tool", rag_tool_body("t-globex", name="Globex only"))
    create(other_tenant, Kind.AGENT, "globex-agent", agent_body("t-llm", name="Globex helper"))
    create(
        other_tenant,
        Kind.AGENT,
        "front",
        agent_body("t-llm", name="Globex front", tools=("tool1", "globex-tool"), collaborators=("globex-agent",)),
    )

    document = bundle_collect(tenant=acme, agent_ids=["front"])

    text = json.dumps(document)
    assert "Globex" not in text and "globex" not in text
    assert sorted(ids(document["agents"])) == ["back", "front", "leaf"]
    assert ids(document["tools"]) == ["tool1"]
    assert {"id": "t-llm", "name": "LLM key"} in document["tokens"]


def test_another_tenants_agent_ids_are_unknown_to_this_tenant(acme, other_tenant):
    create(other_tenant, Kind.TOKEN, "gt", token_body())
    create(other_tenant, Kind.AGENT, "globex-agent", agent_body("gt"))

    assert agents_unknown(tenant=acme, agent_ids=["globex-agent", "front", "nope", "globex-agent"]) == [
        "globex-agent",
        "nope",
    ]
    assert bundle_collect(tenant=acme, agent_ids=["globex-agent"])["agents"] == []


def test_an_export_of_a_slack_tool_carries_its_type_so_an_import_can_recognise_it(tenant):
    create(tenant, Kind.TOKEN, "t1", token_body())
    create(tenant, Kind.TOOL, "slack1", slack_tool_body())
    create(tenant, Kind.AGENT, "a1", agent_body("t1", tools=("slack1",)))

    [tool] = bundle_collect(tenant=tenant, agent_ids=["a1"])["tools"]

    assert (tool["id"], tool["type"]) == ("slack1", "slack")


# --- bundle_encode / bundle_decode -----------------------------------------------------------------------------------


def test_an_encoded_export_decodes_to_the_same_document(acme):
    document = bundle_collect(tenant=acme, agent_ids=["front"])

    data, checksum = bundle_encode(document)

    assert bundle_decode(data, checksum) == document
    assert json.loads(base64.b64decode(data)) == document


def test_text_outside_ascii_survives_the_round_trip():
    document = minimal(agents=[{"id": "a1", "name": {"en": "Kundendienst für Größen ✓", "ja": "サポート"}}])

    assert bundle_decode(*bundle_encode(document)) == document


def test_the_checksum_is_a_keyed_hmac_of_the_decoded_data_not_a_plain_hash():
    data, checksum = bundle_encode(minimal())
    raw = base64.b64decode(data)

    assert checksum == hmac.new(settings.EXPORT_SIGNING_KEY.encode(), raw, hashlib.sha256).hexdigest()
    assert checksum != hashlib.sha256(raw).hexdigest()


def test_the_same_document_always_encodes_to_the_same_data_and_checksum():
    first = bundle_encode({"agents": [{"id": "a1", "b": 1, "a": 2}], "formatVersion": 1})
    second = bundle_encode({"formatVersion": 1, "agents": [{"a": 2, "id": "a1", "b": 1}]})

    assert first == second


def test_a_checksum_in_upper_case_or_with_surrounding_blanks_is_accepted():
    data, checksum = bundle_encode(minimal())

    assert bundle_decode(data, f"  {checksum.upper()}\n") == minimal()


@pytest.mark.parametrize("data", [None, "", 42, ["abc"], {"a": 1}, True])
def test_data_that_is_not_a_non_empty_string_is_refused(data):
    error = refused(data, "0" * 64)

    assert error.field == "data"
    assert "data is required" in error.message


@pytest.mark.parametrize("checksum", [None, "", 42, ["abc"], {"a": 1}])
def test_a_checksum_that_is_not_a_non_empty_string_is_refused(checksum):
    data, _ = bundle_encode(minimal())

    error = refused(data, checksum)

    assert error.field == "checksum"
    assert "checksum is required" in error.message


@pytest.mark.parametrize("data", ["not base64!", "abc", "YWJj ZGVm", "ä" * 8, "YWJj\nZGVm", "YW=Jj"])
def test_data_that_is_not_strict_base64_is_refused(data):
    error = refused(data, "0" * 64)

    assert error.field == "data"
    assert error.message == "data is not valid base64."


@pytest.mark.parametrize(
    "checksum",
    [
        "é" * 64,  # not ASCII: compare_digest used to raise TypeError on it
        "\u0660" * 64,  # Arabic-Indic digits, which some number parsers read as 0
        "checksum ✓",
        "0" * 63,
        "0" * 65,
        "g" * 64,
        "0x" + "0" * 62,
        "00 " * 21 + "0",
    ],
)
def test_a_checksum_that_is_not_64_hexadecimal_characters_is_refused_saying_so(checksum):
    data, _ = bundle_encode(minimal())

    error = refused(data, checksum)

    assert error.field == "checksum"
    assert error.message.startswith("checksum must be the 64 hexadecimal characters")


def test_the_checksum_is_compared_in_constant_time_on_bytes(monkeypatch):
    data, checksum = bundle_encode(minimal())
    compared: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    assert bundle_decode(data, checksum) == minimal()
    assert compared == [(checksum.encode(), checksum.encode())]


@pytest.mark.parametrize("version", [True, 1.0])
def test_a_format_version_that_only_compares_equal_to_1_is_refused(version):
    error = refused(*signed_json(minimal(formatVersion=version)))

    assert error.field == "data"
    assert "is not supported" in error.message


def test_a_checksum_of_other_bytes_is_refused():
    data, _ = bundle_encode(minimal())
    _, other_checksum = bundle_encode(minimal(agents=[{"id": "a2"}]))

    error = refused(data, other_checksum)

    assert error.field == "checksum"
    assert "checksum does not match data" in error.message


def test_data_changed_after_the_export_is_refused():
    _, checksum = bundle_encode(minimal())
    changed, _ = bundle_encode(minimal(agents=[{"id": "a1", "name": {"en": "B"}}]))

    error = refused(changed, checksum)

    assert error.field == "checksum"
    assert "changed after it was made" in error.message


def test_a_plain_sha256_of_the_data_is_not_a_valid_checksum():
    data, _ = bundle_encode(minimal())

    error = refused(data, hashlib.sha256(base64.b64decode(data)).hexdigest())

    assert error.field == "checksum"


def test_a_checksum_made_with_another_signing_key_is_refused():
    with override_settings(EXPORT_SIGNING_KEY="another installation's key"):
        data, checksum = bundle_encode(minimal())
        assert bundle_decode(data, checksum) == minimal()

    error = refused(data, checksum)

    assert error.field == "checksum"
    assert "another export signing key" in error.message


def test_data_that_is_not_json_is_refused_even_with_a_valid_checksum():
    error = refused(*signed(b"\x00\xffnot json at all"))

    assert error.field == "data"
    assert error.message == "data does not hold a JSON document."


def test_data_that_is_not_utf8_json_is_refused_even_with_a_valid_checksum():
    error = refused(*signed('{"formatVersion": 1}'.encode("utf-16")))

    assert error.field == "data"
    assert error.message == "data does not hold a JSON document."


@pytest.mark.parametrize("document", [[minimal()], "text", 1, None, True])
def test_json_that_is_not_an_object_is_refused(document):
    error = refused(*signed_json(document))

    assert error.field == "data"
    assert error.message == "data does not hold an export: expected a JSON object."


@pytest.mark.parametrize("version", [..., None, 0, 2, 99, "1", [1]])
def test_a_missing_or_other_format_version_is_refused(version):
    error = refused(*signed_json(minimal(formatVersion=version)))

    assert error.field == "data"
    assert "Export format version" in error.message
    assert "is not supported; this installation reads version 1" in error.message


@pytest.mark.parametrize("section", ["agents", "tools", "mcpServers", "tokens"])
@pytest.mark.parametrize(
    "value",
    [
        {"id": "x"},
        "x",
        None,
        [["x"]],
        ["x"],
        [{"name": "no id"}],
        [{"id": 7}],
        [{"id": ""}],
        [{"id": None}],
        [{"id": "ok"}, {"id": ["x"]}],
    ],
)
def test_a_section_that_is_not_a_list_of_objects_with_string_ids_is_refused(section, value):
    error = refused(*signed_json(minimal(**{section: value})))

    assert error.field == "data"
    assert error.message == f"data.{section} must be a list of objects, each with a string id."


@pytest.mark.parametrize("agents", [..., []])
def test_an_export_without_agents_is_refused(agents):
    error = refused(*signed_json(minimal(agents=agents, tools=[{"id": "tool1"}])))

    assert error.field == "data"
    assert error.message == "The export holds no agents."


def test_missing_sections_other_than_agents_are_read_as_empty():
    document = minimal()

    assert bundle_decode(*signed_json(document)) == document


def test_a_refusal_is_a_bundle_error_whose_text_is_its_message():
    error = refused("not base64!", "0" * 64)

    assert str(error) == error.message

"""/ai-service/{tenant}/agentic/tokens: upsert, the secret value, delete with dependants, isolation."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from apps.agents import services
from apps.agents.crypto import decrypt_value, encrypt_value
from apps.agents.models import Kind, Token
from tests.agents.conftest import (
    SECRET,
    assert_bad_request,
    create,
    custom_mcp_body,
    exists,
    ids,
    put,
    rag_tool_body,
    references,
    search,
    stored,
    token_body,
    url,
)

TOKEN = Kind.TOKEN


@pytest.fixture
def acme_token(tenant: Any) -> Token:
    token = create(tenant, TOKEN, "t1", token_body())
    assert isinstance(token, Token)
    return token


def assert_untouched(tenant: Any) -> None:
    token = stored(tenant, TOKEN, "t1")
    assert (token.name, token.version) == ("OpenAI key", 1)


# Upsert


def test_creating_a_token_answers_201_with_its_id(manager, tenant):
    response = put(manager, TOKEN, "openai", token_body())
    assert response.status_code == 201
    assert response.body == {"id": "openai"}
    token = manager.get(url(TOKEN, "openai")).body
    assert token["name"] == "OpenAI key"
    assert token["metadata"]["version"] == 1
    assert set(token) == {"id", "name", "metadata"}


def test_replacing_a_token_answers_204_and_counts_the_version_up(manager, tenant, acme_token):
    response = put(manager, TOKEN, "t1", {"name": "Renamed", "metadata": {"version": 1}})
    assert response.status_code == 204
    assert response.content == b""
    token = manager.get(url(TOKEN, "t1")).body
    assert (token["name"], token["metadata"]["version"]) == ("Renamed", 2)
    assert decrypt_value(stored(tenant, TOKEN, "t1").encrypted_value) == SECRET


def test_a_stale_metadata_version_is_a_409_that_changes_nothing(manager, tenant, acme_token):
    put(manager, TOKEN, "t1", {"name": "Second"})
    response = put(manager, TOKEN, "t1", {"name": "Third", "metadata": {"version": 1}})
    assert response.status_code == 409
    assert response.body["code"] == 409
    assert response.body["status"] == "Conflict"
    assert "version 2" in response.body["message"]
    assert stored(tenant, TOKEN, "t1").name == "Second"


def test_a_new_token_needs_its_value(manager, tenant):
    assert_bad_request(put(manager, TOKEN, "t2", {"name": "No value"}), "value")
    assert_bad_request(put(manager, TOKEN, "t2", {"name": "Empty value", "value": ""}), "value")
    assert not exists(tenant, TOKEN, "t2")


@pytest.mark.parametrize("body", [{"value": SECRET}, {"name": "", "value": SECRET}, {"name": None, "value": SECRET}])
def test_a_token_needs_a_name(manager, tenant, body):
    assert_bad_request(put(manager, TOKEN, "t2", body), "name")
    assert not exists(tenant, TOKEN, "t2")


@pytest.mark.parametrize("body", [[], '"name"', "7", "null"])  # strings are sent as they are: JSON text
def test_a_body_that_is_not_an_object_is_a_400(manager, body):
    assert_bad_request(put(manager, TOKEN, "t2", body), "body")


def test_a_body_that_is_not_json_is_a_400(manager, tenant):
    response = put(manager, TOKEN, "t2", '{"name": "x", "value": "' + SECRET)
    assert response.status_code == 400
    assert response.body["code"] == 400
    assert SECRET.encode() not in response.content
    assert not exists(tenant, TOKEN, "t2")


def test_fields_the_api_does_not_know_are_dropped(manager, tenant):
    body = {**token_body(), "secretHint": "sk-...", "id": "other", "metadata": {"version": 3, "createdAt": "x"}}
    assert put(manager, TOKEN, "t2", body).status_code == 201
    assert stored(tenant, TOKEN, "t2").body == {"name": "OpenAI key"}
    assert set(manager.get(url(TOKEN, "t2")).body) == {"id", "name", "metadata"}
    assert not exists(tenant, TOKEN, "other")


def test_a_value_sent_for_an_existing_token_is_ignored_and_the_stored_one_stays(manager, tenant, acme_token):
    response = put(manager, TOKEN, "t1", token_body("Rotated", value="sk-another-value"))
    assert (response.status_code, response.content) == (204, b"")
    token = stored(tenant, TOKEN, "t1")
    assert (token.name, decrypt_value(token.encrypted_value)) == ("Rotated", SECRET)


def test_a_put_answers_the_same_whether_the_value_sent_is_the_stored_one_or_not(manager, tenant):
    """Regression: a right guess answered 204 and a wrong one 400, so a caller could test values one by one."""
    answers = []
    for n, value in enumerate([SECRET, "sk-a-wrong-guess", SECRET[:-1], SECRET + " "]):
        create(tenant, TOKEN, f"g{n}", token_body())
        # One request id for all: the answers must not differ in anything else (each request has its own id).
        body = {"name": "Guess", "value": value, "metadata": {"version": 1}}
        response = manager.put(url(TOKEN, f"g{n}"), body, content_type="application/json", HTTP_X_REQUEST_ID="guess")
        answers.append((response.status_code, response.content, sorted(response.items())))
        assert decrypt_value(stored(tenant, TOKEN, f"g{n}").encrypted_value) == SECRET
    assert [status for status, _, _ in answers] == [204] * 4
    assert all(answer[1:] == answers[0][1:] for answer in answers), answers


def test_repeating_the_same_value_on_update_is_accepted(manager, tenant, acme_token):
    assert put(manager, TOKEN, "t1", token_body("Same value")).status_code == 204
    assert decrypt_value(stored(tenant, TOKEN, "t1").encrypted_value) == SECRET


def test_a_token_no_configured_key_opens_takes_the_value_sent(manager, tenant, acme_token):
    Token.objects.filter(pk=acme_token.pk).update(encrypted_value="gAAAAA-made-with-a-key-long-gone")
    assert put(manager, TOKEN, "t1", token_body(value="sk-new")).status_code == 204
    assert decrypt_value(stored(tenant, TOKEN, "t1").encrypted_value) == "sk-new"


# The secret


def test_the_value_is_stored_encrypted_and_only_in_its_own_column(manager, tenant):
    put(manager, TOKEN, "t2", token_body())
    token = stored(tenant, TOKEN, "t2")
    assert token.body == {"name": "OpenAI key"}
    assert SECRET not in token.encrypted_value
    assert decrypt_value(token.encrypted_value) == SECRET
    row = Token.objects.filter(pk=token.pk).values().get()
    assert SECRET not in str({key: value for key, value in row.items() if key != "encrypted_value"})
    assert SECRET not in repr(token) and SECRET not in str(token)


def test_the_value_never_appears_in_any_response(manager, reader, tenant):
    responses = [
        put(manager, TOKEN, "t2", token_body()),
        put(manager, TOKEN, "t2", token_body("Again")),
        put(manager, TOKEN, "t2", token_body(value=SECRET + "-changed")),
        put(manager, TOKEN, "t3", {"value": SECRET}),
        put(manager, TOKEN, "t3", {"name": ["not", "text"], "value": SECRET}),
        put(manager, TOKEN, "t3", {"name": "x", "value": {"nested": SECRET}}),
        put(manager, TOKEN, "t2", {**token_body(), "metadata": {"version": 99}}),
        manager.get(url(TOKEN, "t2")),
        manager.get(url(TOKEN, "t2", fields="name,metadata")),
        manager.get(url(TOKEN)),
        reader.get(url(TOKEN, q="name:~Again")),
        search(manager, TOKEN, "id:t2"),
        manager.get(url(TOKEN, fields="value")),
        manager.delete(url(TOKEN, "t2")),
    ]
    assert [r.status_code for r in responses] == [201, 204, 204, 400, 400, 400, 409, 200, 200, 200, 200, 200, 400, 204]
    for response in responses:
        assert SECRET.encode() not in response.content
        assert SECRET.encode() not in b"".join(f"{k}: {v}".encode() for k, v in response.items())


def test_a_token_row_holding_more_than_its_name_still_shows_only_id_name_and_metadata(manager, tenant):
    # A row written by another code path with the value in its body: the API shows the named fields only.
    Token.objects.create(tenant=tenant, public_id="odd", name="Odd", body={"name": "Odd", "value": SECRET})
    for response in (manager.get(url(TOKEN, "odd")), manager.get(url(TOKEN)), search(manager, TOKEN, "id:odd")):
        assert response.status_code == 200
        assert SECRET.encode() not in response.content
    assert set(manager.get(url(TOKEN, "odd")).body) == {"id", "name", "metadata"}


def test_the_value_is_never_logged_even_when_the_request_fails(manager, tenant, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)

    def broken(value: str) -> str:
        raise RuntimeError("the key store is down")

    put(manager, TOKEN, "t2", token_body())
    put(manager, TOKEN, "t2", token_body(value=SECRET + "-changed"))
    monkeypatch.setattr(services, "encrypt_value", broken)
    response = put(manager, TOKEN, "t3", token_body())
    assert response.status_code == 500
    assert SECRET.encode() not in response.content
    assert "the key store is down" in caplog.text  # the failure itself is logged...
    assert SECRET not in caplog.text  # ...without the value


# Lists


def test_tokens_are_searched_and_sorted_by_name(manager, tenant):
    for public_id, name in [("k1", "OpenAI key"), ("k2", "Anthropic key"), ("k3", "Qdrant")]:
        create(tenant, TOKEN, public_id, token_body(name))
    assert ids(manager.get(url(TOKEN, q="name:~key", sort="name"))) == ["k2", "k1"]
    assert ids(search(manager, TOKEN, 'name:"OpenAI key"')) == ["k1"]
    assert ids(manager.get(url(TOKEN, sort="name:desc", pageSize="2"))) == ["k3", "k1"]


def test_a_field_tokens_do_not_have_is_refused_in_q_sort_and_fields(manager, acme_token):
    assert_bad_request(manager.get(url(TOKEN, q="value:x")), "q")
    assert_bad_request(manager.get(url(TOKEN, sort="value")), "sort")
    assert_bad_request(manager.get(url(TOKEN, fields="value")), "fields")
    assert_bad_request(manager.get(url(TOKEN, q="enabled:true")), "q")


# Delete


def test_deleting_an_unknown_token_is_a_404_naming_it(manager, tenant):
    response = manager.delete(url(TOKEN, "nope"))
    assert response.status_code == 404
    assert response.body["resourceId"] == "nope"


def test_a_token_in_use_is_not_deleted_and_the_400_names_its_users(manager, tenant, acme_token):
    create(tenant, Kind.TOOL, "tool1", rag_tool_body("t1", name="Product search"))
    create(tenant, Kind.MCP_SERVER, "mcp1", custom_mcp_body("t1", name="Orders MCP"))
    response = manager.delete(url(TOKEN, "t1"))
    assert response.status_code == 400
    assert "tool tool1 (Product search)" in response.body["message"]
    assert "MCP server mcp1 (Orders MCP)" in response.body["message"]
    assert "force=true" in response.body["message"]
    assert len(response.body["details"]) == 2
    assert exists(tenant, TOKEN, "t1")


def test_force_deletes_a_token_in_use_and_unassigns_it_everywhere(manager, tenant, acme_token):
    create(tenant, Kind.TOOL, "tool1", rag_tool_body("t1"))
    create(tenant, Kind.MCP_SERVER, "mcp1", custom_mcp_body("t1"))
    assert manager.delete(url(TOKEN, "t1", force="true")).status_code == 204
    assert not exists(tenant, TOKEN, "t1")
    tool = manager.get(url(Kind.TOOL, "tool1")).body
    assert "token" not in tool["config"]["databaseConfig"]
    assert "token" not in tool["config"]["embeddingConfig"]
    assert tool["config"]["databaseConfig"]["url"] == "https://vectors.example.com"
    assert tool["metadata"]["version"] == 2
    server = manager.get(url(Kind.MCP_SERVER, "mcp1")).body
    assert "authorizationHeaderToken" not in server["config"]
    assert server["config"]["authorizationHeaderName"] == "Authorization"
    assert references(tenant) == set()


@pytest.mark.parametrize("force", ["yes", "1", ""])
def test_force_must_be_true_or_false(manager, acme_token, force):
    assert_bad_request(manager.delete(url(TOKEN, "t1", force=force)), "force")


def test_force_false_is_the_same_as_no_force(manager, tenant, acme_token):
    create(tenant, Kind.TOOL, "tool1", rag_tool_body("t1"))
    assert manager.delete(url(TOKEN, "t1", force="false")).status_code == 400
    assert exists(tenant, TOKEN, "t1")


# Tenant isolation


def test_another_tenant_never_sees_lists_counts_gets_or_deletes_acmes_tokens(outsider, tenant, acme_token):
    response = outsider.get(url(TOKEN, tenant="globex"), HTTP_X_TOTAL_COUNT="true")
    assert (response.body, response["X-Total-Count"]) == ([], "0")
    assert search(outsider, TOKEN, "id:t1", tenant="globex").body == []
    assert outsider.get(url(TOKEN, "t1", tenant="globex")).status_code == 404
    assert outsider.delete(url(TOKEN, "t1", tenant="globex")).status_code == 404
    assert_untouched(tenant)


def test_the_same_id_in_two_tenants_is_two_separate_tokens(manager, outsider, tenant, other_tenant, acme_token):
    assert (
        put(outsider, TOKEN, "t1", token_body("Globex key", value="globex-secret"), tenant="globex").status_code == 201
    )
    assert manager.get(url(TOKEN, "t1")).body["name"] == "OpenAI key"
    assert decrypt_value(stored(tenant, TOKEN, "t1").encrypted_value) == SECRET
    assert decrypt_value(stored(other_tenant, TOKEN, "t1").encrypted_value) == "globex-secret"


def test_encrypting_is_not_deterministic_so_equal_values_do_not_show():
    assert encrypt_value(SECRET) != encrypt_value(SECRET)

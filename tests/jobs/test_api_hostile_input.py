"""Hostile and malformed input to the Jobs API and to every JSON endpoint: always a 4xx that says what is wrong,
never a 5xx. Each case names the finding it guards against."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from apps.jobs.models import Job
from tests.conftest import MANAGE, READ
from tests.jobs.conftest import LIST, SEARCH

JSON = "application/json"


def assert_api_400(response: Any, fragment: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith(JSON)
    body = json.loads(response.content)
    assert body["code"] == 400
    assert body["status"] == "Bad Request"
    assert fragment in body["message"], body["message"]


@pytest.fixture
def job(make_job: Any) -> Job:
    return make_job(job_id="j1", message="Refund issued")


# NUL characters: PostgreSQL cannot compare text holding one, so they reached the database as a 500.


@pytest.mark.parametrize("method", ["get", "delete"])
def test_a_nul_in_a_job_id_is_a_404_naming_the_id_as_no_job_can_have_it(manager, job, method):
    response = getattr(manager, method)(f"{LIST}/j1%00")

    assert response.status_code == 404
    assert response.body["message"] == "Job with id j1\x00 not found."
    assert response.body["resourceId"] == "j1\x00"
    assert Job.objects.filter(job_id="j1").exists()


def test_a_nul_in_the_tenant_of_a_path_is_answered_as_any_unknown_tenant(manager):
    response = manager.get("/ai-service/acme%00/jobs")

    assert response.status_code == 403
    assert response.body["code"] == 403


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("q=message:%00", "Invalid character U+0000"),
        ("q=id:j1%00", "Invalid character U+0000"),
        ("fields=id%00", "Unknown field 'id\x00' in fields."),
        ("sort=id%00", "Cannot sort by 'id\x00'"),
    ],
)
def test_a_nul_in_a_list_parameter_is_a_400_naming_it(manager, job, query, fragment):
    assert_api_400(manager.get(f"{LIST}?{query}"), fragment)


def test_a_nul_in_a_parameter_the_api_does_not_take_is_ignored_like_any_other(manager, job):
    response = manager.get(f"{LIST}?x=%00&%00=1")

    assert response.status_code == 200
    assert [found["id"] for found in response.body] == ["j1"]


# Too many query parameters: Django refuses to parse them, which inside an API view was a 500.


def test_1001_query_parameters_are_a_400_stating_the_limit(manager, job):
    query = "&".join(f"p{n}=1" for n in range(1001))

    assert_api_400(manager.get(f"{LIST}?{query}"), "Too many query parameters: at most 1000 are allowed")
    assert_api_400(
        manager.post(f"{SEARCH}?{query}", {"q": ""}, content_type=JSON),
        "Too many query parameters: at most 1000 are allowed",
    )
    assert_api_400(manager.get(f"{LIST}/j1?{query}"), "Too many query parameters")


def test_1000_query_parameters_are_still_read(manager, job):
    query = "&".join(f"p{n}=1" for n in range(999))

    response = manager.get(f"{LIST}?{query}&fields=id")

    assert response.status_code == 200
    assert response.body == [{"id": "j1"}]


# Dates in q: beyond year 9999, year 0, offsets that push an instant out of range.


@pytest.mark.parametrize(
    "date",
    [
        "10000-01-01",
        "+10000-01-01T00:00:00Z",
        "0000-01-01",
        "0000-12-31T23:59:59Z",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
        "2025-01-01T00:00:00+24:00",
        "2025-01-01T00:00:00+99:99",
        "2025-01-01T00:00:00-1000:00",
        "9999-W52-7",
        "2025-02-30",
    ],
)
def test_an_impossible_or_out_of_range_date_in_q_is_a_400_naming_it(query_jobs, job, date):
    response = query_jobs(f'metadata.createdAt:>"{date}" metadata.modifiedAt:<"2025-01-01"')

    assert_api_400(response, f"Invalid date-time '{date}' for field 'metadata.createdAt'")


@pytest.mark.parametrize("date", ["9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+01:00"])
def test_the_first_and_last_instants_there_are_can_be_searched(query_jobs, job, date):
    assert query_jobs(f'metadata.createdAt:<"{date}"').status_code == 200
    assert query_jobs(f'metadata.createdAt:>="{date}"').status_code == 200


# Lone UTF-16 surrogates: valid JSON escapes that no UTF-8 text can hold.


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"q": "\\ud800"}', "Invalid character U+D800 at position 1"),
        (b'{"q": "message:\\"\\udfff\\""}', "Invalid character U+DFFF"),
        (b'{"q": "message:~\\ud800abc"}', "Invalid character U+D800"),
    ],
)
def test_a_lone_surrogate_in_a_search_body_is_a_400_naming_it(manager, job, body, fragment):
    assert_api_400(manager.generic("POST", SEARCH, body, content_type=JSON), fragment)


def test_a_lone_surrogate_as_a_key_of_a_search_body_is_ignored_like_any_unknown_key(manager, job):
    response = manager.generic("POST", SEARCH, b'{"\\ud800": 1, "q": "status:in_progress"}', content_type=JSON)

    assert response.status_code == 200
    assert [found["id"] for found in response.body] == ["j1"]


@pytest.mark.parametrize("query", ["q=%ED%A0%80", "q=%FF%FE", "fields=%C0%AF", "sort=%E2%82"])
def test_invalid_utf8_in_a_list_parameter_is_a_400(manager, job, query):
    response = manager.get(f"{LIST}?{query}")

    assert response.status_code == 400
    assert response.body["code"] == 400


def test_invalid_utf8_in_a_q_value_is_read_as_replacement_characters(manager, job):
    response = manager.get(f"{LIST}?q=message:%ED%A0%80")

    assert response.status_code == 200
    assert response.body == []


# Invalid percent-encoding and invalid UTF-8 in paths.


@pytest.mark.parametrize("job_id", ["%FF", "%ED%A0%80", "%C0%AF", "%zz", "%", "%E2%82"])
def test_an_invalid_percent_encoding_or_utf8_in_a_job_id_is_a_json_404(manager, job, job_id):
    response = manager.get(f"{LIST}/{job_id}")

    assert response.status_code == 404
    assert response.body["code"] == 404


def test_invalid_percent_encoding_in_the_query_string_is_read_literally(manager, job):
    response = manager.get(f"{LIST}?fields=%zz")

    assert_api_400(response, "Unknown field '%zz' in fields.")


# Content types and bodies of POST search.


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-unknown", "multipart/form-data; boundary=x"])
def test_an_unknown_content_type_is_a_400_naming_it(manager, job, content_type):
    response = manager.generic("POST", SEARCH, b'{"q": ""}', content_type=content_type)

    assert_api_400(response, "Unsupported media type")


@pytest.mark.parametrize("charset", ["foo", "x-unknown-8"])
def test_an_unknown_charset_of_a_json_body_is_read_as_utf8(manager, job, charset):
    body = b'{"q": "message:\\"Refund issued\\""}'

    response = manager.generic("POST", SEARCH, body, content_type=f"application/json; charset={charset}")

    assert response.status_code == 200
    assert [found["id"] for found in response.body] == ["j1"]


@pytest.mark.parametrize("body", [b'{"q": "\xff"}', b"\xff\xfe{", b'{"q": "x"', b"NaN", b"{'q': 1}"])
def test_a_body_that_is_not_utf8_json_is_a_400(manager, job, body):
    assert_api_400(manager.generic("POST", SEARCH, body, content_type=JSON), "JSON parse error")


# Deeply nested JSON, on every JSON endpoint: nested past Python's recursion limit, or just below it.

JSON_ENDPOINTS = [
    ("POST", SEARCH, '{"q": %s}'),
    ("POST", "/ai-service/acme/agentic/agents/search", '{"q": %s}'),
    ("POST", "/ai-service/acme/agentic/tools/search", '{"q": %s}'),
    ("POST", "/ai-service/acme/agentic/mcp-servers/search", '{"q": %s}'),
    ("POST", "/ai-service/acme/agentic/tokens/search", '{"q": %s}'),
    ("PUT", "/ai-service/acme/agentic/agents/a1", '{"name": {"en": "A"}, "userPrompt": "p", "tags": %s}'),
    ("PUT", "/ai-service/acme/agentic/tools/t1", '{"name": "T", "type": "rag_custom", "config": %s}'),
    ("PUT", "/ai-service/acme/agentic/mcp-servers/m1", '{"name": "M", "transport": "sse", "config": %s}'),
    ("PUT", "/ai-service/acme/agentic/tokens/k1", '{"name": "K", "value": %s}'),
    ("POST", "/ai-service/acme/agentic/agents/export", '{"agentIds": %s}'),
    ("POST", "/ai-service/acme/agentic/agents/import", '{"data": %s, "checksum": "x"}'),
]


def nested(depth: int, kind: str) -> str:
    return "[" * depth + "1" + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(("method", "path", "template"), JSON_ENDPOINTS)
@pytest.mark.parametrize("depth", [950, 100_000])
@pytest.mark.parametrize("kind", ["list", "object"])
def test_deeply_nested_json_is_a_4xx_on_every_json_endpoint(tenant, make_token, method, path, template, depth, kind):
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {make_token(tenant, READ, MANAGE)}")

    response = client.generic(method, path, (template % nested(depth, kind)).encode(), content_type=JSON)

    assert 400 <= response.status_code < 500, response.content[:300]
    assert json.loads(response.content)["code"] == response.status_code

"""The request and session logs: list, search and get, with the list parameters, scopes and tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agentic.models import Severity
from tests.agentic.api.conftest import RUN, client_with

pytestmark = pytest.mark.django_db

REQUESTS = "/ai-service/acme/agentic/logs/requests"
SESSIONS = "/ai-service/acme/agentic/logs/sessions"


def search(client: Any, url: str, q: Any, **extra: str) -> Any:
    return client.post(f"{url}/search", {"q": q}, content_type="application/json", **extra)


def test_a_request_log_is_shown_in_the_published_shape(reader, write_run):
    run = write_run(collaborators=("billing-agent",), seconds=3)
    body = reader.get(f"{REQUESTS}/{run.request_id}").body
    assert body["id"] == run.log_id and body["requestId"] == run.request_id
    assert body["sessionId"] == run.session_id and body["triggerAgentId"] == "support-agent"
    assert body["collaborationAgents"] == ["billing-agent"]
    assert body["severity"] == "INFO" and body["duration"] == 3
    assert set(body["metadata"]) == {"version", "createdAt", "modifiedAt"}
    assert [m["message"] for m in body["messages"]] == ["Agent receive request: hello", "Agent final response: hi"]
    first = body["messages"][0]
    assert first | {"timestamp": "t"} == {
        "timestamp": "t",
        "severity": "INFO",
        "message": "Agent receive request: hello",
        "agentId": "support-agent",
        "requestId": run.request_id,
        "isBusinessLog": False,
    }


def test_messages_come_in_the_order_they_were_written(reader, write_run):
    lines = tuple(f"line {n}" for n in range(12))
    run = write_run(lines=lines)
    body = reader.get(f"{REQUESTS}/{run.request_id}").body
    assert [m["message"] for m in body["messages"]] == list(lines)
    stamps = [m["timestamp"] for m in body["messages"]]
    assert stamps == sorted(stamps)


def test_a_session_log_holds_the_transcript_of_all_its_requests(reader, write_run):
    first = write_run(session_id="s-1", lines=("Agent receive request: one",))
    write_run(session_id="s-1", lines=("Agent receive request: two",), severity=Severity.ERROR)
    body = reader.get(f"{SESSIONS}/s-1").body
    assert body["sessionId"] == "s-1" and body["triggerAgentId"] == first.trigger_agent_id
    assert body["agents"] == ["support-agent"]
    assert [m["message"] for m in body["messages"]] == ["Agent receive request: one", "Agent receive request: two"]
    assert isinstance(body["duration"], int) and body["severity"] == "INFO"


def test_unknown_ids_answer_404(reader, write_run):
    write_run()
    for url in (f"{REQUESTS}/nope", f"{SESSIONS}/nope", f"{REQUESTS}/search", f"{SESSIONS}/search"):
        response = reader.get(url)
        assert response.status_code == 404, url
        assert "not found" in response.body["message"]


def test_another_tenants_logs_are_never_visible(reader, write_run, other_tenant):
    theirs = write_run(owner=other_tenant, session_id="their-session")
    write_run(session_id="our-session")
    assert reader.get(f"{REQUESTS}/{theirs.request_id}").status_code == 404
    assert reader.get(f"{SESSIONS}/their-session").status_code == 404
    listed = reader.get(REQUESTS, HTTP_X_TOTAL_COUNT="true")
    assert [r["sessionId"] for r in listed.body] == ["our-session"] and listed["X-Total-Count"] == "1"
    assert [s["sessionId"] for s in reader.get(SESSIONS).body] == ["our-session"]
    assert search(reader, REQUESTS, f"requestId:{theirs.request_id}").body == []
    assert search(reader, SESSIONS, "sessionId:their-session").body == []


def test_the_outsiders_token_cannot_read_this_tenants_logs(outsider, write_run):
    run = write_run()
    assert outsider.get(REQUESTS).status_code == 403
    assert outsider.get(f"{REQUESTS}/{run.request_id}").status_code == 403
    assert outsider.get(SESSIONS).status_code == 403


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", REQUESTS),
        ("post", f"{REQUESTS}/search"),
        ("get", f"{REQUESTS}/x"),
        ("get", SESSIONS),
        ("post", f"{SESSIONS}/search"),
        ("get", f"{SESSIONS}/x"),
    ],
)
def test_every_log_operation_needs_a_token_and_the_read_scope(api, tenant, make_token, method, url):
    assert getattr(api, method)(url, {}, content_type="application/json").status_code == 401
    runner_only = client_with(tenant, make_token, RUN)
    response = getattr(runner_only, method)(url, {}, content_type="application/json")
    assert response.status_code == 403
    assert "ai.agent_read" in response.body["message"]


def test_q_finds_requests_by_request_agent_session_and_severity(reader, write_run):
    a = write_run(agent_id="support-agent", session_id="s-a")
    b = write_run(agent_id="fraud-agent", session_id="s-b", severity=Severity.ERROR)
    c = write_run(agent_id="fraud-agent", session_id="s-a", severity=Severity.WARNING)

    def ids(q: str) -> set[str]:
        response = reader.get(REQUESTS, {"q": q})
        assert response.status_code == 200, response.body
        via_search = {r["requestId"] for r in search(reader, REQUESTS, q).body}
        found = {r["requestId"] for r in response.body}
        assert found == via_search
        return found

    assert ids(f"requestId:{a.request_id}") == {a.request_id}
    assert ids("triggerAgentId:fraud-agent") == {b.request_id, c.request_id}
    assert ids("sessionId:s-a") == {a.request_id, c.request_id}
    assert ids("severity:ERROR") == {b.request_id}
    assert ids("severity:(ERROR,WARNING) triggerAgentId:fraud-agent") == {b.request_id, c.request_id}


def test_q_finds_sessions_by_session_agent_and_severity(reader, write_run):
    write_run(agent_id="support-agent", session_id="s-a")
    write_run(agent_id="fraud-agent", session_id="s-b", severity=Severity.ERROR)

    def ids(q: str) -> list[str]:
        return sorted(s["sessionId"] for s in reader.get(SESSIONS, {"q": q}).body)

    assert ids("sessionId:s-a") == ["s-a"]
    assert ids("triggerAgentId:fraud-agent") == ["s-b"]
    assert ids("severity:ERROR") == ["s-b"]


@pytest.mark.parametrize(
    ("url", "q", "field"),
    [
        (REQUESTS, "nosuch:1", "q"),
        (REQUESTS, "severity:LOUD", "q"),
        (SESSIONS, "requestId:x", "q"),
    ],
)
def test_a_bad_q_is_refused_naming_q(reader, url, q, field):
    response = reader.get(url, {"q": q})
    assert response.status_code == 400
    assert response.body["details"][0]["field"] == field


def test_pages_and_the_total_count(reader, write_run):
    runs = [write_run(session_id=f"s-{n}") for n in range(5)]
    newest_first = [r.request_id for r in reversed(runs)]
    page1 = reader.get(REQUESTS, {"pageSize": "2"}, HTTP_X_TOTAL_COUNT="true")
    page3 = reader.get(REQUESTS, {"pageSize": "2", "pageNumber": "3"})
    assert [r["requestId"] for r in page1.body] == newest_first[:2]
    assert [r["requestId"] for r in page3.body] == newest_first[4:]
    assert page1["X-Total-Count"] == "5"
    assert "X-Total-Count" not in page3
    sessions = reader.get(SESSIONS, {"pageSize": "3"}, HTTP_X_TOTAL_COUNT="true")
    assert len(sessions.body) == 3 and sessions["X-Total-Count"] == "5"
    assert reader.get(REQUESTS, {"pageSize": "0"}).status_code == 400


def test_sort_by_agent_and_by_creation(reader, write_run):
    write_run(agent_id="b-agent")
    write_run(agent_id="a-agent")
    write_run(agent_id="c-agent")
    by_agent = reader.get(REQUESTS, {"sort": "triggerAgentId:asc"}).body
    assert [r["triggerAgentId"] for r in by_agent] == ["a-agent", "b-agent", "c-agent"]
    oldest = reader.get(REQUESTS, {"sort": "metadata.createdAt:asc"}).body
    assert [r["triggerAgentId"] for r in oldest] == ["b-agent", "a-agent", "c-agent"]
    sessions = reader.get(SESSIONS, {"sort": "triggerAgentId:desc"}).body
    assert [s["triggerAgentId"] for s in sessions] == ["c-agent", "b-agent", "a-agent"]
    assert reader.get(REQUESTS, {"sort": "messages"}).status_code == 400


def test_sort_by_severity_goes_from_info_to_error_not_alphabetically(reader, write_run):
    for severity in (Severity.WARNING, Severity.ERROR, Severity.INFO):
        write_run(severity=severity)
    worst_last = reader.get(REQUESTS, {"sort": "severity:asc"}).body
    assert [r["severity"] for r in worst_last] == ["INFO", "WARNING", "ERROR"]
    worst_first = reader.get(SESSIONS, {"sort": "severity:desc"}).body
    assert [s["severity"] for s in worst_first] == ["ERROR", "WARNING", "INFO"]


def test_fields_choose_what_is_returned_and_the_dashboards_selection_works(reader, write_run):
    write_run(collaborators=("billing-agent",))
    dashboard = "id,triggerAgentId,requestId,sessionId,severity,metadata,duration,collaborationAgents"
    body = reader.get(REQUESTS, {"fields": dashboard}).body
    assert set(body[0]) == set(dashboard.split(","))
    only = reader.get(REQUESTS, {"fields": "severity"}).body
    assert set(only[0]) == {"id", "requestId", "severity"}  # the ids always come along
    one = reader.get(f"{REQUESTS}/{body[0]['requestId']}", {"fields": "messages"}).body
    assert set(one) == {"id", "requestId", "messages"} and len(one["messages"]) == 2
    session = reader.get(SESSIONS, {"fields": "agents"}).body
    assert set(session[0]) == {"sessionId", "agents"}
    assert reader.get(REQUESTS, {"fields": "secret"}).status_code == 400


def test_an_unfinished_run_counts_its_duration_so_far(reader, write_run):
    run = write_run()
    run.finished_at = None
    run.save(update_fields=["finished_at"])
    body = reader.get(f"{REQUESTS}/{run.request_id}").body
    assert body["duration"] >= 0


def test_a_search_body_must_be_an_object(reader):
    response = reader.post(f"{REQUESTS}/search", ["q"], content_type="application/json")
    assert response.status_code == 400
    assert response.body["details"][0]["field"] == "body"

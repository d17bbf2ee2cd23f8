"""The query budget of the Jobs API: limits on `q` (400) and a time budget on every read (503).

The 503 tests run on both databases: PostgreSQL cancels through `statement_timeout`, SQLite through its progress
handler. The one that runs real SQL against PostgreSQL's timeout runs only there; CI runs the suite on
PostgreSQL, so it always runs in CI.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.jobs import selectors
from tests.core.test_budget import on_postgresql, slow_down
from tests.jobs.conftest import LIST, SEARCH


def assert_bad_q(response: Any, fragment: str) -> None:
    assert response.status_code == 400, response.body
    assert response.body["status"] == "Bad Request"
    assert fragment in response.body["message"]


@pytest.fixture
def jobs(make_job: Any) -> None:
    make_job(job_id="j1", message="Refund issued")
    make_job(job_id="j2", message="Export failed")


def test_the_finding_180_contains_terms_with_sort_and_total_is_refused_at_once(manager, jobs):
    q = " ".join(["message:~e"] * 180)
    started = time.monotonic()

    response = manager.post(
        f"{SEARCH}?sort=message", {"q": q}, content_type="application/json", HTTP_X_TOTAL_COUNT="true"
    )

    assert time.monotonic() - started < 1
    assert_bad_q(response, "q has 180 terms; at most 20 are allowed")


def test_more_terms_than_allowed_is_a_400_stating_the_limit(query_jobs, jobs, settings):
    settings.API_QUERY_MAX_TERMS = 2

    assert_bad_q(query_jobs("status:success type:IMPORT agentId:null"), "at most 2 are allowed")
    assert query_jobs("status:success type:IMPORT").status_code == 200


def test_more_contains_terms_than_allowed_is_a_400_stating_the_limit(query_jobs, jobs):
    response = query_jobs("message:~ref message:~und message:~iss message:~sue")

    assert_bad_q(response, "q has 4 ~ (contains) terms; at most 3 are allowed")


def test_a_too_short_contains_value_is_a_400_stating_the_minimum(query_jobs, jobs):
    response = query_jobs("message:~e")

    assert_bad_q(response, "The ~ (contains) value for 'message' must be at least 3 characters long")
    assert response.body["details"][0]["field"] == "q"


def test_a_heavy_query_just_within_the_limits_is_answered(query_jobs, jobs):
    q = " ".join(["message:~ued", "message:~fun", "message:~ssu", *(f"metadata.version:>={n}" for n in range(-17, 0))])

    response = query_jobs(q, headers={"X-Total-Count": "true"}, sort="message")

    assert response.status_code == 200, response.body
    assert [job["id"] for job in response.body] == ["j1"]
    assert response["X-Total-Count"] == "1"


@pytest.fixture
def slow_count(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    slow_down(monkeypatch, settings, selectors, "job_count")


def assert_too_slow(response: Any) -> None:
    assert response.status_code == 503, response.body
    assert response.body["code"] == 503
    assert response.body["status"] == "Service Unavailable"
    assert "took longer than the 0.2 s allowed" in response.body["message"]
    assert "narrow it" in response.body["message"]


def test_a_read_running_past_its_budget_answers_503_saying_to_narrow_the_query(query_jobs, jobs, slow_count):
    started = time.monotonic()

    response = query_jobs("status:in_progress", headers={"X-Total-Count": "true"})

    assert time.monotonic() - started < 2
    assert_too_slow(response)


def test_the_connection_serves_the_next_request_after_a_cancelled_one(query_jobs, jobs, slow_count):
    assert_too_slow(query_jobs(headers={"X-Total-Count": "true"}))

    response = query_jobs()

    assert response.status_code == 200
    assert {job["id"] for job in response.body} == {"j1", "j2"}


def test_api_requests_one_after_another_send_their_reads_and_nothing_else(transactional_db, manager, jobs):
    """Every API request runs under the one API budget: after the first on a connection, a list, a search and a job
    by id each send their token lookup and their read, with no transaction around them and no SET between them.
    (Outside any transaction, as a server runs them: within one, a budget takes a savepoint.)"""
    assert manager.get(LIST).status_code == 200  # the first may set the session's statement_timeout
    changes = getattr(connection, "timeout_changes", 0)  # PostgreSQL's SETs (apps.core.postgresql)

    with CaptureQueriesContext(connection) as queries:
        assert manager.get(LIST).status_code == 200
        assert manager.post(SEARCH, {"q": "status:success"}, content_type="application/json").status_code == 200
        assert manager.get(f"{LIST}/j1").status_code == 200

    assert [q["sql"].split()[0] for q in queries] == ["SELECT"] * 6  # token and page, token and page, token and job
    assert getattr(connection, "timeout_changes", 0) == changes


@on_postgresql
def test_every_query_of_an_api_request_runs_under_the_api_budget(manager, jobs, settings, monkeypatch):
    settings.API_STATEMENT_TIMEOUT_MS = 1234
    seen: list[str] = []

    def job_row(**kwargs: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            seen.append(cursor.fetchone()[0])
        return None

    monkeypatch.setattr(selectors, "job_row", job_row)

    assert manager.get(f"{LIST}/j1").status_code == 404
    assert seen == ["1234ms"]
    with connection.cursor() as cursor:  # outside the request, the session's own again
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] != "1234ms"


@on_postgresql
def test_postgresql_cancels_a_genuinely_slow_search_and_it_answers_503(manager, tenant, settings):
    """No stand-in: sorting 20,000 jobs by message and counting them, with a budget of 5 ms, in PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO jobs_job (tenant_id, job_id, type, status, message, version, created_at, modified_at)"
            " SELECT %s, 'gen-' || n, 'AGENT_CHAT', 'success', md5(n::text), 1, now(), now()"
            " FROM generate_series(1, 20000) AS n",
            [tenant.pk],
        )
    settings.API_STATEMENT_TIMEOUT_MS = 5

    response = manager.post(
        f"{SEARCH}?sort=message:desc", {"q": "id:~gen"}, content_type="application/json", HTTP_X_TOTAL_COUNT="true"
    )

    assert response.status_code == 503, response.body
    assert "took longer than the 0.005 s allowed" in response.body["message"]
    settings.API_STATEMENT_TIMEOUT_MS = 0
    assert manager.get(f"{LIST}?pageSize=1&sort=message:desc").status_code == 200

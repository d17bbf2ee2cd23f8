"""Hostile and malformed input to the console's job pages: a 4xx page that says what is wrong, never a 5xx."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from apps.console.jobs import selectors
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.core.test_budget import run_slow_query

BASE = "/console/acme"


@pytest.fixture
def jobs(tenant: Tenant) -> list[Job]:
    return [
        Job.objects.create(
            tenant=tenant, job_id=f"j{n}", type=Job.Type.AGENT_CHAT, created_at=datetime(2026, 3, n, tzinfo=UTC)
        )
        for n in (1, 2, 3)
    ]


def page(response: Any) -> str:
    return str(response.content.decode())


def assert_page_400(response: Any, fragment: str) -> None:
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert fragment in page(response)


def listed(response: Any) -> list[str]:
    return [job_id for job_id in ("j3", "j2", "j1") if f'data-job-id="{job_id}"' in page(response)]


def cursor(created_at: str, job_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at, job_id]).encode()).decode().rstrip("=")


# NUL characters: PostgreSQL cannot compare text holding one, so they reached the database as a 500.


@pytest.mark.parametrize(
    "path", [f"{BASE}/jobs/%00/", f"{BASE}/jobs/%00x/export.json", "/console/%00/", "/console/%00/jobs/"]
)
def test_a_nul_in_a_console_path_is_a_400_page_saying_so(manager_client, jobs, path):
    assert_page_400(manager_client.get(path), "The path must not contain a NUL character (%00).")


@pytest.mark.parametrize("suffix", ["", "export.json", "delete", "retry"])
def test_a_nul_encoded_twice_in_a_job_link_is_no_job(manager_client, jobs, suffix):
    # The link converter decodes once more than the server: "%2500" becomes a NUL, which PostgreSQL refuses.
    response = manager_client.get(f"{BASE}/jobs/%2500/{suffix}")

    assert response.status_code in (404, 405)


@pytest.mark.parametrize(
    "query", ["jobs/?agent=%00", "jobs/?q=%00abc", "jobs/?status=%00", "jobs/status.json?id=%00", "audit/?after=%00"]
)
def test_a_nul_in_a_console_query_string_is_a_400_page_saying_so(manager_client, jobs, query):
    response = manager_client.get(f"{BASE}/{query}")

    assert_page_400(response, "The query string must not contain a NUL character (%00).")


def test_a_nul_in_a_selected_id_of_a_bulk_delete_selects_no_job(manager_client, jobs):
    response = manager_client.post(f"{BASE}/jobs/delete", {"mode": "selected", "id": ["j1\x00", "j2"]})

    assert response.status_code == 200
    assert response.context["count"] == 1
    assert Job.objects.count() == 3


def test_an_anonymous_visitor_gets_the_same_400_for_a_nul(anonymous_client):
    assert_page_400(anonymous_client.get(f"{BASE}/jobs/%00/"), "NUL character")


@pytest.mark.parametrize("job_id", ["%FF", "%ED%A0%80", "%C0%AF", "%zz", "%", "%E2%82"])
def test_an_invalid_percent_encoding_or_utf8_in_a_console_path_is_a_404_page(manager_client, jobs, job_id):
    response = manager_client.get(f"{BASE}/jobs/{job_id}/")

    assert response.status_code == 404


@pytest.mark.parametrize("query", ["agent=%FF", "q=%ED%A0%80abc", "status=%C0%AF", "created_from=%zz", "after=%E2%82"])
def test_invalid_utf8_or_percent_encoding_in_a_console_query_string_is_answered(manager_client, jobs, query):
    response = manager_client.get(f"{BASE}/jobs/?{query}")

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert 'class="msg-error"' in page(response)


# Too many query parameters.


def test_1001_query_parameters_are_a_400_page_stating_the_limit(manager_client, jobs):
    query = "&".join(f"p{n}=1" for n in range(1001))

    response = manager_client.get(f"{BASE}/jobs/?{query}")

    assert_page_400(response, "Too many query parameters: at most 1000 are allowed.")


def test_a_form_of_1001_fields_is_a_400_page_stating_the_limit(manager_client, jobs):
    body = "&".join(["mode=selected", *(f"id=j{n}" for n in range(1000))])

    response = manager_client.post(f"{BASE}/jobs/delete", body, content_type="application/x-www-form-urlencoded")

    assert_page_400(response, "Too many parameters: at most 1000 are allowed.")
    assert Job.objects.count() == 3


# Dates of the list's filter: the last day there is, beyond it, year 0.


def test_created_to_the_last_day_there_is_lists_every_job(manager_client, jobs):
    response = manager_client.get(f"{BASE}/jobs/?created_to=9999-12-31")

    assert response.status_code == 200
    assert listed(response) == ["j3", "j2", "j1"]


def test_created_from_the_last_day_there_is_lists_nothing(manager_client, jobs):
    response = manager_client.get(f"{BASE}/jobs/?created_from=9999-12-31&created_to=9999-12-31")

    assert response.status_code == 200
    assert listed(response) == []


def test_a_bulk_delete_up_to_the_last_day_there_is_counts_every_job(manager_client, jobs):
    response = manager_client.post(f"{BASE}/jobs/delete", {"mode": "filter", "created_to": "9999-12-31"})

    assert response.status_code == 200
    assert response.context["count"] == 3


@pytest.mark.parametrize(
    "query", ["created_from=10000-01-01", "created_to=0000-01-01", "created_from=99999-12-31", "created_to=9999-13-01"]
)
def test_a_date_beyond_year_9999_or_before_year_1_is_a_400_explaining_it(manager_client, jobs, query):
    response = manager_client.get(f"{BASE}/jobs/?{query}")

    assert_page_400(response, "Enter a valid date.")
    assert listed(response) == []


# Cursors of the list's pages and of the audit trail: made by hand, they show the first page.


@pytest.mark.parametrize(
    "after",
    [
        cursor("2026-03-02T00:00:00+00:00", "j2\x00"),
        cursor("2026-03-02T00:00:00+00:00", "\ud800"),
        cursor("9999-12-31T23:59:59-01:00", "j2"),
        cursor("0001-01-01T00:00:00+01:00", "j2"),
        cursor("10000-01-01T00:00:00", "j2"),
        "%ff%fe",
    ],
)
def test_a_cursor_that_cannot_be_one_shows_the_first_page(manager_client, jobs, after):
    response = manager_client.get(f"{BASE}/jobs/?after={after}")

    assert response.status_code == 200
    assert listed(response) == ["j3", "j2", "j1"]


@pytest.mark.parametrize(
    "after", ["9999-12-31T23:59:59-01:00,1", "0001-01-01T00:00:00+01:00,1", "x,99999999999999999999"]
)
def test_an_audit_cursor_out_of_range_shows_the_first_page(manager_client, jobs, after):
    assert manager_client.get(f"{BASE}/audit/", {"after": after}).status_code == 200


# The read budget of the console's list pages.


def test_a_job_list_that_runs_out_of_its_budget_is_a_503_asking_to_narrow_the_filter(
    manager_client, jobs, monkeypatch, settings
):
    settings.CONSOLE_STATEMENT_TIMEOUT_MS = 200
    monkeypatch.setattr(selectors, "job_page", lambda **kwargs: run_slow_query())

    response = manager_client.get(f"{BASE}/jobs/?status=success")

    assert response.status_code == 503
    assert "Listing took longer than the 0.2 s allowed: narrow the filter." in page(response)
    assert 'name="status"' in page(response)  # the filter is still there to narrow


def test_an_audit_page_that_runs_out_of_its_budget_is_a_503_page(manager_client, jobs, monkeypatch, settings):
    settings.CONSOLE_STATEMENT_TIMEOUT_MS = 200
    monkeypatch.setattr(selectors, "audit_page", lambda **kwargs: run_slow_query())

    response = manager_client.get(f"{BASE}/audit/")

    assert response.status_code == 503
    assert "took longer than the 0.2 s allowed" in page(response)


def test_a_console_client_is_not_served_the_api_error_shape(jobs):
    assert_page_400(Client().get(f"{BASE}/jobs/%00/"), "NUL character")

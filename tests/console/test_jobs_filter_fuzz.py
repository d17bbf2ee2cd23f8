"""Property-based run of the console's job filter: whatever the query string (or the bulk delete's form) holds,
the list answers 200 or a 400 that explains itself, never a 5xx.

Values are drawn from what breaks parsers and databases: arbitrary text, raw bytes (invalid UTF-8, NUL),
dates at and beyond the ends of the calendar, and hand-made cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.console.jobs.forms import JobFilterForm
from apps.jobs.models import Job
from apps.tenants.models import Tenant

BASE = "/console/acme"
NAMES = [*JobFilterForm.FILTER_FIELDS, "sort", "after", "before"]

_DATES = st.one_of(
    st.dates().map(date.isoformat),
    st.sampled_from(["9999-12-31", "0001-01-01", "0000-01-01", "10000-01-01", "2026-02-30", "12/31/9999"]),
    st.integers(-99999, 99999).map(lambda year: f"{year}-01-01"),
)
_INSTANTS = st.one_of(
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "10000-01-01T00:00:00"]),
    st.text(max_size=30),
)
_CURSORS = st.tuples(st.one_of(_INSTANTS, st.integers()), st.one_of(st.text(max_size=10), st.none())).map(
    lambda pair: base64.urlsafe_b64encode(json.dumps(list(pair)).encode("utf-8", "surrogatepass")).decode().rstrip("=")
)
_RAW = st.binary(max_size=20)  # percent-encoded as they are: invalid UTF-8, NUL and all
_VALUES = st.one_of(
    st.text(max_size=30),
    _RAW,
    _DATES,
    _CURSORS,
    st.sampled_from([*Job.Type.values, *Job.Status.values, *Job.AgentType.values, "newest", "oldest"]),
)
_PARAMS = st.lists(st.tuples(st.one_of(st.sampled_from(NAMES), st.text(max_size=8)), _VALUES), max_size=8)


def _encoded(value: str | bytes) -> str:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote(raw, safe="")


def query_string(params: list[tuple[str, str | bytes]]) -> str:
    return "&".join(f"{_encoded(name)}={_encoded(value)}" for name, value in params)


@pytest.fixture
def jobs(tenant: Tenant) -> None:
    for n in range(1, 4):
        Job.objects.create(
            tenant=tenant, job_id=f"j{n}", type=Job.Type.AGENT_CHAT, created_at=datetime(2026, 3, n, tzinfo=UTC)
        )


def assert_answered(response: Any) -> None:
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        page = response.content.decode()
        assert 'class="msg-error"' in page, "a 400 must say what is wrong"


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(params=_PARAMS)
def test_any_query_string_of_the_job_list_is_answered_200_or_an_explained_400(
    manager_client: Client, jobs: None, params: list[tuple[str, str | bytes]]
) -> None:
    assert_answered(manager_client.get(f"{BASE}/jobs/?{query_string(params)}"))


@FUZZ
@given(params=_PARAMS)
def test_any_filter_posted_to_the_bulk_delete_is_answered_200_or_an_explained_400(
    manager_client: Client, jobs: None, params: list[tuple[str, str | bytes]]
) -> None:
    body = query_string([("mode", "filter"), *params])

    response = manager_client.post(f"{BASE}/jobs/delete", body, content_type="application/x-www-form-urlencoded")

    assert response.status_code in (200, 302, 400), response.status_code
    assert Job.objects.count() == 3  # without confirm=yes nothing is deleted

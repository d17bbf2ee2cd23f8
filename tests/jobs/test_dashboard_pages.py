"""The dashboard's pages (no q, or type and status terms only; the first pages, any sort and fields) come from SQL
compiled once per shape (apps.jobs.selectors._dashboard_page): they answer exactly as the ORM's own path does."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.jobs import selectors
from apps.jobs.models import Job
from tests.jobs.conftest import LIST, SEARCH

BASE = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def jobs(make_job: Any, other_tenant: Any) -> None:
    statuses, types = Job.Status.values, Job.Type.values
    for n in range(40):
        job = make_job(
            job_id=f"j{(n * 37) % 101:03d}",
            status=statuses[n % len(statuses)],
            type=types[n % len(types)],
            agent_type=Job.AgentType.values[n % 3] if n % 4 else None,
            message=f"message {n}" if n % 2 else None,
            import_result={"summary": {"agents": [{"id": "a", "state": "FAILED"}]}} if n % 5 == 0 else None,
        )
        # Several jobs share an instant (the job_id breaks the tie), and some have milliseconds, some none.
        created = BASE + timedelta(minutes=n % 7, microseconds=(n % 3) * 123_456)
        Job.objects.filter(pk=job.pk).update(created_at=created, modified_at=created + timedelta(seconds=n))
    make_job(tenant=other_tenant, job_id="j000", status=Job.Status.SUCCESS)  # never on this tenant's pages


def both_ways(monkeypatch: pytest.MonkeyPatch, request: Any) -> tuple[Any, Any]:
    """The answer through the compiled path, then through the ORM's (the compiled one switched off)."""
    compiled = request()
    with monkeypatch.context() as patch:
        patch.setattr(selectors, "_dashboard_page", lambda *args: None)
        plain = request()
    return compiled, plain


QS = [
    None,
    "status:success",
    "type:(EXPORT,IMPORT) status:(success,failure,in_progress)",
    "status:success status:failure",
]
SORTS = [None, "metadata.createdAt:asc", "status,type:desc", "agentType:desc,metadata.modifiedAt"]
FIELDS = [None, "status,metadata", "importResult,metadata.createdAt", "id"]


@pytest.mark.parametrize(("q", "sort"), list(itertools.product(QS, SORTS)))
def test_a_page_answers_as_the_orm_path_whatever_the_terms_and_sort(manager, jobs, monkeypatch, q, sort):
    answered = []
    for fields, (size, number) in zip(FIELDS, [(60, 1), (7, 1), (7, 3), (5, 4)], strict=True):
        params = {"pageSize": str(size), "pageNumber": str(number)}
        params |= {"sort": sort} if sort else {}
        params |= {"fields": fields} if fields else {}
        query = "&".join(f"{name}={value}" for name, value in params.items())

        compiled, plain = both_ways(
            monkeypatch,
            lambda query=query: manager.post(
                f"{SEARCH}?{query}", {"q": q} if q else {}, content_type="application/json"
            ),
        )

        assert compiled.status_code == plain.status_code == 200, compiled.body
        assert compiled.body == plain.body, (fields, size, number)
        answered += compiled.body
    assert answered or q == "status:success status:failure"  # the pages compared are not all empty


def test_each_shape_is_compiled_once(manager, jobs, monkeypatch):
    built: list[Any] = []
    original = selectors._page_query
    monkeypatch.setattr(selectors, "_PAGE_QUERIES", {})
    monkeypatch.setattr(selectors, "_page_query", lambda *args: built.append(args) or original(*args))

    for status in ("success", "failure", "success", "in_progress"):
        assert manager.get(LIST, {"q": f"status:{status}"}).status_code == 200
    manager.get(LIST, {"q": "status:(success,failure)"})
    manager.get(LIST, {"q": "status:success", "pageNumber": "2"})

    assert len(built) == 3  # one term; two terms; one term on page 2


def test_the_kept_shapes_are_bounded(manager, jobs, monkeypatch):
    monkeypatch.setattr(selectors, "_PAGE_QUERIES", {})
    monkeypatch.setattr(selectors, "_MAX_PAGE_QUERIES", 3)

    for number in range(1, 8):
        assert manager.get(LIST, {"pageSize": "2", "pageNumber": str(number)}).status_code == 200
        assert len(selectors._PAGE_QUERIES) <= 3


def test_other_filters_and_deep_pages_take_the_orm_path(manager, jobs, monkeypatch):
    monkeypatch.setattr(selectors, "_PAGE_QUERIES", {})

    assert manager.get(LIST, {"q": "message:exists"}).status_code == 200
    assert manager.get(LIST, {"pageSize": "10", "pageNumber": "101"}).status_code == 200  # offset 1,000

    assert selectors._PAGE_QUERIES == {}

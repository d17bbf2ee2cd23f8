"""Fixtures shared by the Jobs API tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import ApiClientForTests

LIST = "/ai-service/acme/jobs"
SEARCH = "/ai-service/acme/jobs/search"


@pytest.fixture(params=["GET list", "POST search"])
def query_jobs(request: pytest.FixtureRequest, manager: ApiClientForTests) -> Callable[..., Any]:
    """Run a `q` through the GET list (query string) or the POST search (body); the other parameters and
    headers go the same way for both."""

    def run(q: str | None = None, headers: dict[str, str] | None = None, **params: str) -> Any:
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()}
        if request.param == "GET list":
            query = {**params, **({"q": q} if q is not None else {})}
            return manager.get(LIST, query, **extra)
        body = {"q": q} if q is not None else {}
        path = f"{SEARCH}?{urlencode(params)}" if params else SEARCH
        return manager.post(path, body, content_type="application/json", **extra)

    return run

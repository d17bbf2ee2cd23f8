"""The benchmark's floor (bench/floor.py) answers get by id, list and search as the API does, or its throughput
would compare unlike work. PostgreSQL only: the floor speaks to it with psycopg."""

from __future__ import annotations

import importlib.util
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.conftest import READ
from tests.core.test_budget import on_postgresql

# bench/ holds scripts, not a package: the floor is loaded from its file.
_spec = importlib.util.spec_from_file_location("bench_floor", Path(__file__).parents[2] / "bench" / "floor.py")
assert _spec is not None and _spec.loader is not None
floor: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(floor)

pytestmark = [on_postgresql, pytest.mark.django_db(transaction=True)]  # the floor reads on a connection of its own


@pytest.fixture
def floor_database(monkeypatch: pytest.MonkeyPatch) -> None:
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(floor, "_local", type(floor._local)())  # no connection left from another test


def _floor(method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else b""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
    }
    answered: list[str] = []
    chunks = floor.app(environ, lambda status, headers: answered.append(status))
    return int(answered[0][:3]), json.loads(b"".join(chunks))


def test_it_answers_as_the_api(
    floor_database: None,
    tenant: Tenant,
    other_tenant: Tenant,
    make_token: Callable[..., str],
    make_job: Callable[..., Job],
    api: Any,
) -> None:
    for n in range(5):
        make_job(job_id=f"j{n}", status=Job.Status.FAILURE if n % 2 else Job.Status.SUCCESS, message=f"job {n}")
    make_job(job_id="theirs", tenant=other_tenant)
    token = make_token(tenant, READ)
    search = {"q": "status:failure type:AGENT_CHAT"}

    for method, path, body in [
        ("GET", "/ai-service/acme/jobs/j3", None),
        ("GET", "/ai-service/acme/jobs", None),
        ("POST", "/ai-service/acme/jobs/search", search),
        ("GET", "/ai-service/acme/jobs/theirs", None),
    ]:
        ours = api.generic(
            method,
            path,
            json.dumps(body) if body else "",
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        status, answer = _floor(method, path, token, body)

        assert status == ours.status_code
        if status == 200:
            assert answer == ours.body


def test_it_refuses_an_unknown_token_and_another_tenants_path(
    floor_database: None, tenant: Tenant, other_tenant: Tenant, make_token: Callable[..., str]
) -> None:
    assert _floor("GET", "/ai-service/acme/jobs", "nope")[0] == 401
    assert _floor("GET", "/ai-service/globex/jobs", make_token(tenant, READ))[0] == 403

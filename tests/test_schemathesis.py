"""Property-based run of every operation of our OpenAPI document through WSGI; the four Job operations in depth.

Schemathesis generates requests (valid and invalid) from `/api/schema`; each response must not be a 5xx,
must have a status, content type and body our document declares, and must also be what the published contract
allows (`tests.contract.validate_response`). Most cases use tenant "acme" with a fully-scoped token and, for
the detail operations, the id of a seeded job, so the deep code paths run and not only the 403/404 ones.
Each case runs in a transaction that is rolled back, so every case sees the same seeded jobs.

Every other operation (agents, tools, MCP servers, tokens, export and import, chat, the agent logs, the commerce
events) runs authenticated with the read, manage and execution scopes, mostly in tenant "acme" (chat mostly with
a seeded agent, the logs' detail operations mostly with a seeded request or session), and must never answer a 5xx.

Bounded and deterministic by default; for a longer local hunt:
`SCHEMATHESIS_MAX_EXAMPLES=1500 SCHEMATHESIS_RANDOM=1 pytest tests/test_schemathesis.py`.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.agentic.models import AgentRequest
from apps.agentic.services import run_create
from apps.agents.models import Agent
from apps.core.query import FieldKind
from apps.jobs.fields import FIELD_TREE, SEARCHABLE, SORTABLE
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.conftest import MANAGE, READ
from tests.contract import validate_response

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
OTHER_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
JOB_OPERATIONS = ("GET-ai-list-jobs", "POST-ai-search-jobs", "GET-ai-job", "DELETE-ai-job")
SEEDED_IDS = ("65f1c0ffee0000000000000a", "65f1c0ffee0000000000000b", "legacy-42", "search")
OTHER_TENANTS_ID = "65f1c0ffee0000000000000f"  # a job of "globex": must stay invisible to "acme"
SEEDED_AGENT = "support-agent"  # enabled, with an endpoint trigger: chat gets past its checks
SEEDED_SESSION = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "50"))
# The other operations are many (31): fewer cases each keeps the run short; a local hunt raises both.
OTHER_MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_OTHER_MAX_EXAMPLES", "15"))


@pytest.fixture
def seeded(tenant: Tenant, other_tenant: Tenant) -> dict[str, Any]:
    """A few jobs of every type and status in "acme", and one in another tenant."""
    jobs = [
        Job.objects.create(
            tenant=tenant,
            job_id=SEEDED_IDS[0],
            type=Job.Type.EXPORT,
            status=Job.Status.SUCCESS,
            export_result={"data": "e30=", "checksum": "abc"},
        ),
        Job.objects.create(
            tenant=tenant,
            job_id=SEEDED_IDS[1],
            type=Job.Type.IMPORT,
            status=Job.Status.FAILURE,
            import_result={
                "message": "1 agent imported",
                "summary": {
                    "agents": [{"id": "a1", "name": "Support", "state": "ENABLED"}],
                    "tools": [],
                    "mcpServers": [],
                },
            },
        ),
        Job.objects.create(
            tenant=tenant,
            job_id=SEEDED_IDS[2],
            type=Job.Type.AGENT_CHAT,
            status=Job.Status.IN_PROGRESS,
            agent_type=Job.AgentType.SUPPORT,
            agent_id="agent-1",
            session_id="s-1",
            message="Hello",
            commerce_event="order.created",
        ),
        # A job whose id collides with the literal `search` segment.
        Job.objects.create(tenant=tenant, job_id=SEEDED_IDS[3], type=Job.Type.AGENT_CHAT),
        Job.objects.create(tenant=other_tenant, job_id=OTHER_TENANTS_ID, type=Job.Type.EXPORT),
    ]
    agent = Agent.objects.create(
        tenant=tenant,
        public_id=SEEDED_AGENT,
        name="Support",
        enabled=True,
        body={"name": {"en": "Support"}, "enabled": True, "triggers": [{"type": "endpoint"}]},
    )
    # Skipped: a run with its logs, and no task sent to a broker that no worker of this test reads.
    run = run_create(tenant=tenant, agent=agent, message="Hello", session_id=SEEDED_SESSION, skipped="Seeded.")
    return {"jobs": [*jobs, run]}


@pytest.fixture
def isolated_requests() -> Iterator[None]:
    """Keep Django from closing the test's connection at the end of each WSGI request (as its own test client
    does), so that a case can run inside a transaction that is rolled back afterwards."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def token(tenant: Tenant, make_token: Any) -> str:
    return make_token(tenant, READ, MANAGE, "ai.agentexecution_manage")


@pytest.fixture
def localhost(settings: Any) -> None:
    """Schemathesis's WSGI transport sends `Host: localhost`."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]


def _load_schema(max_examples: int) -> Any:
    # Our own document, as served; loading it needs no database.
    with override_settings(ALLOWED_HOSTS=["localhost"]):
        loaded = schemathesis.openapi.from_wsgi("/api/schema?format=json", WSGIHandler())
    loaded.config.generation.update(
        modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
        max_examples=max_examples,
        deterministic=True,
    )
    return loaded


schema = _load_schema(MAX_EXAMPLES).include(operation_id=list(JOB_OPERATIONS))
other_operations = _load_schema(OTHER_MAX_EXAMPLES).exclude(operation_id=list(JOB_OPERATIONS))


# --- realistic list parameters, so that q, sort, fields and paging get past validation ------------------------

_FIELDS = [*FIELD_TREE, "metadata.version", "exportResult.data", "importResult.summary", "importResult.summary.agents"]
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=6)
_QUOTED = _TEXT.map(lambda text: '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
_BARE = st.from_regex(r"[a-z0-9_.-]{1,8}", fullmatch=True)
_KIND_VALUES = {
    FieldKind.TEXT: st.one_of(
        st.sampled_from([*SEEDED_IDS, "agent-1", "s-1", "Hello", "order.created"]), _BARE, _QUOTED
    ),
    FieldKind.INT: st.one_of(st.sampled_from(["1", "2", "0"]), st.integers(-5, 10**12).map(str)),
    FieldKind.DATETIME: st.one_of(
        st.sampled_from(["2024-01-01", "2024-01-01T00:00:00Z", "2099-12-31T23:59:59.999Z", '"2024-01-01T10:00"']),
        st.datetimes().map(lambda moment: moment.isoformat()),
    ),
}


@st.composite
def _term(draw: st.DrawFn) -> str:
    spec = draw(st.sampled_from(list(SEARCHABLE.values())))
    values = st.sampled_from(spec.choices) if spec.choices else _KIND_VALUES[spec.kind]
    if draw(st.integers(0, 9)) == 0:  # sometimes a value of the wrong kind
        values = st.one_of(*_KIND_VALUES.values())
    condition = draw(
        st.one_of(
            values,
            st.sampled_from(["null", "exists", "missing"]),
            values.map(lambda value: "~" + value),
            st.tuples(st.sampled_from([">", ">=", "<", "<="]), values).map("".join),
            st.lists(values, min_size=1, max_size=3).map(lambda vs: "(" + ",".join(vs) + ")"),
            st.tuples(values, values).map(lambda vs: f"(>{vs[0]} AND <={vs[1]})"),
        )
    )
    return f"{spec.name}:{condition}"


_Q = st.one_of(st.lists(_term(), min_size=1, max_size=3).map(" ".join), st.just(""), _TEXT)
_SORT = st.lists(
    st.tuples(st.sampled_from(list(SORTABLE)), st.sampled_from(["", ":asc", ":desc"])).map("".join),
    min_size=1,
    max_size=3,
).map(",".join)
_FIELDS_PARAM = st.lists(st.sampled_from(_FIELDS), min_size=1, max_size=4).map(",".join)
_PAGE = st.one_of(st.integers(1, 4).map(str), st.sampled_from(["60", "1000", "1001", "0", "-1", "01"]))
_LIST_PARAMETERS = {"q": _Q, "sort": _SORT, "fields": _FIELDS_PARAM, "pageSize": _PAGE, "pageNumber": _PAGE}


def _bucket(value: Any, buckets: int) -> int:
    return zlib.crc32(json.dumps(value, sort_keys=True, default=repr).encode("utf-8", "surrogatepass")) % buckets


def _aim(case: Any, data: st.DataObject) -> None:
    """Point most cases at tenant "acme", at seeded jobs and at meaningful parameter values; keep the generated
    values in the rest (those mostly exercise 400, 403 and 404)."""
    path_parameters = case.path_parameters or {}
    # Which cases keep their generated tenant and id is a function of the generated case: stable across runs
    # and across Hypothesis's replays of a failing example.
    body = case.body if isinstance(case.body, dict | list | str | int | float | bool) else None  # not NotSet
    key = _bucket([path_parameters, case.query, case.headers, body], 600)
    if "tenant" in path_parameters and key % 10 != 0:  # ~80% "acme", ~10% the other tenant, ~10% as generated
        path_parameters["tenant"] = "globex" if key % 10 == 1 else "acme"
    if "jobId" in path_parameters and key % 3 != 0:  # ~67% an existing job (mostly acme's)
        path_parameters["jobId"] = [*SEEDED_IDS, OTHER_TENANTS_ID][key % (len(SEEDED_IDS) + 1)]
    if "sessionId" in path_parameters and key % 3 != 0:
        path_parameters["sessionId"] = SEEDED_SESSION
    if "requestId" in path_parameters and key % 3 != 0:
        seeded = AgentRequest.objects.filter(session_id=SEEDED_SESSION).values_list("request_id", flat=True)
        path_parameters["requestId"] = seeded.first() or "none"
    if isinstance(case.body, dict) and "agentId" in case.body and key % 3 != 0:
        case.body["agentId"] = SEEDED_AGENT
    if not data.draw(st.booleans(), label="realistic"):
        return
    declared = {p.name for p in case.operation.query}
    if declared:
        query = dict(case.query or {})
        for name, strategy in _LIST_PARAMETERS.items():
            if name in declared:
                value = data.draw(st.none() | strategy, label=name)
                if value is None:
                    query.pop(name, None)
                else:
                    query[name] = value
        case.query = query
    if case.method.upper() == "POST":
        body = data.draw(st.one_of(_Q.map(lambda q: {"q": q}), st.just({}), st.just({"q": None})), label="body")
        case.body = body
    if any(p.name == "X-Total-Count" for p in case.operation.headers):
        total = data.draw(st.sampled_from([None, "true", "false"]), label="X-Total-Count")
        headers = dict(case.headers or {})
        headers.pop("X-Total-Count", None)
        if total is not None:
            headers["X-Total-Count"] = total
        case.headers = headers


def _body(response: Any) -> Any:
    if not response.content:
        return None
    return json.loads(response.content)


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@schema.given(data=st.data())
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("SCHEMATHESIS_RANDOM") is None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.usefixtures("seeded", "isolated_requests", "localhost")
def test_job_operations(case: Any, data: st.DataObject, token: str) -> None:
    _aim(case, data)
    with transaction.atomic():
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        transaction.set_rollback(True)
    assert Job.objects.filter(job_id__in=SEEDED_IDS).count() == len(SEEDED_IDS), "a case leaked into the next"
    case.validate_response(response, checks=CHECKS)
    body = _body(response)
    # And what the published contract (not only our document) allows.
    validate_response(urlsplit(response.request.url).path, case.method, response.status_code, body)
    if response.status_code == 200 and case.path_parameters.get("tenant") == "acme":
        ids = [job.get("id") for job in (body if isinstance(body, list) else [body])]
        assert OTHER_TENANTS_ID not in ids, "another tenant's job leaked"


@pytest.mark.django_db(transaction=True)
@other_operations.parametrize()
@other_operations.given(data=st.data())
@settings(
    max_examples=OTHER_MAX_EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("SCHEMATHESIS_RANDOM") is None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.usefixtures("seeded", "isolated_requests", "localhost", "answer_at_once")
def test_every_other_operation(case: Any, data: st.DataObject, token: str) -> None:
    _aim(case, data)
    with transaction.atomic():
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        transaction.set_rollback(True)
    case.validate_response(response, checks=OTHER_CHECKS)
    # And, for the operations a contract file holds (chat, the agent logs), what it allows.
    validate_response(urlsplit(response.request.url).path, case.method, response.status_code, _body(response))


@pytest.fixture
def answer_at_once(settings: Any) -> None:
    """Export and import answer 202 at once instead of waiting for a worker that never comes (their tasks are
    sent only once the transaction commits, and every case is rolled back)."""
    settings.JOB_WAIT_SECONDS = 0
    settings.AGENT_CHAT_WAIT_SECONDS = 0

"""`manage.py load_jobs TENANT FILE` and `manage.py seed_jobs`."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command

from apps.core.timefmt import parse_instant
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.conftest import ApiClientForTests

# Jobs as GET /ai-service/{tenant}/jobs shows them: every field of the Job schema, each kind of job and status.
HISTORY: list[dict[str, Any]] = [
    {
        "id": "6881f0a3c0ffee0000000001",
        "agentType": "complaint",
        "status": "success",
        "type": "AGENT_CHAT",
        "sessionId": "session-9",
        "agentId": "complaint-agent",
        "message": "The refund was issued.",
        "commerceEvent": "order.created",
        "metadata": {"version": 3, "createdAt": "2025-07-24T10:30:27.167Z", "modifiedAt": "2025-07-24T10:31:02.004Z"},
    },
    {
        "id": "6881f0a3c0ffee0000000002",
        "status": "success",
        "type": "EXPORT",
        "exportResult": {"data": "eyJhZ2VudHMiOiBbXX0=", "checksum": "5d41402abc4b2a76b9719d911017c592"},
        "metadata": {"version": 2, "createdAt": "2024-01-02T03:04:05.006Z", "modifiedAt": "2024-01-02T03:04:09.999Z"},
    },
    {
        "id": "legacy-import-17",
        "status": "success",
        "type": "IMPORT",
        "importResult": {
            "message": "Imported 2 agents",
            "summary": {
                "agents": [
                    {"id": "a1", "name": "Support", "state": "ENABLED"},
                    {"id": "a2", "name": "Fraud", "state": "DISABLED"},
                ],
                "tools": [{"id": "t1", "name": "Orders", "state": "EXISTS"}],
                "mcpServers": [{"id": "m1", "name": "Commerce", "state": "TO_CREATE"}],
            },
        },
        "metadata": {"version": 7, "createdAt": "2023-12-31T23:59:59.999Z", "modifiedAt": "2024-01-01T00:00:00.000Z"},
    },
    {
        "id": "6881f0a3c0ffee0000000004",
        "status": "failure",
        "type": "AGENT_CHAT",
        "agentType": "anti_fraud",
        "agentId": "fraud-agent",
        "message": "Could not reach the commerce API: timeout",
        "metadata": {"version": 2, "createdAt": "2025-07-25T08:00:00.000Z", "modifiedAt": "2025-07-25T08:05:00.500Z"},
    },
    {
        "id": "6881f0a3c0ffee0000000005",
        "status": "in_progress",
        "type": "EXPORT",
        "metadata": {"version": 1, "createdAt": "2025-07-25T09:00:00.001Z", "modifiedAt": "2025-07-25T09:00:00.001Z"},
    },
]


def history() -> list[dict[str, Any]]:
    return copy.deepcopy(HISTORY)


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[Any], Path]:
    def write(content: Any) -> Path:
        path = tmp_path / "jobs.json"
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
        return path

    return write


def load_jobs(tenant: str, path: Path) -> str:
    out = StringIO()
    call_command("load_jobs", tenant, str(path), stdout=out)
    return out.getvalue()


def detail(job_id: str, tenant: str = "acme") -> str:
    return f"/ai-service/{tenant}/jobs/{quote(job_id, safe='')}"


# --- load_jobs: what is loaded is what the API shows ------------------------------------------------------------


def test_it_loads_every_job_and_says_how_many(tenant: Tenant, write_file: Callable[[Any], Path]) -> None:
    output = load_jobs("acme", write_file(history()))

    assert output.strip() == "Loaded 5 jobs into tenant acme"
    assert sorted(Job.objects.filter(tenant=tenant).values_list("job_id", flat=True)) == sorted(
        job["id"] for job in HISTORY
    )


@pytest.mark.parametrize("job", HISTORY, ids=[job["id"] for job in HISTORY])
def test_the_api_returns_a_loaded_job_exactly_as_it_was_in_the_file(
    manager: ApiClientForTests, write_file: Callable[[Any], Path], job: dict[str, Any]
) -> None:
    load_jobs("acme", write_file(history()))

    response = manager.get(detail(job["id"]))

    assert response.status_code == 200
    assert response.body == job


def test_a_loaded_export_keeps_its_bundle_apart_from_its_row_as_exports_made_here_do(
    tenant: Tenant, write_file: Callable[[Any], Path]
) -> None:
    load_jobs("acme", write_file(history()))

    job = Job.objects.get(tenant=tenant, job_id="6881f0a3c0ffee0000000002")
    assert job.export_result is None
    assert (job.export_bundle.data, job.export_bundle.checksum) == (
        "eyJhZ2VudHMiOiBbXX0=",
        "5d41402abc4b2a76b9719d911017c592",
    )


def test_the_api_lists_the_loaded_jobs_in_the_order_of_their_given_creation_times(
    manager: ApiClientForTests, write_file: Callable[[Any], Path]
) -> None:
    load_jobs("acme", write_file(history()))

    response = manager.get("/ai-service/acme/jobs", {"sort": "metadata.createdAt:asc"})

    assert response.status_code == 200
    assert response.body == sorted(HISTORY, key=lambda job: job["metadata"]["createdAt"])


def test_it_keeps_loaded_jobs_untouched_by_the_scheduler_bookkeeping(
    tenant: Tenant, write_file: Callable[[Any], Path]
) -> None:
    load_jobs("acme", write_file(history()))

    job = Job.objects.get(tenant=tenant, job_id="6881f0a3c0ffee0000000001")
    assert job.version == 3
    assert job.created_at == datetime.fromisoformat("2025-07-24T10:30:27.167+00:00")
    assert job.modified_at == datetime.fromisoformat("2025-07-24T10:31:02.004+00:00")
    assert job.payload is None  # nothing for a worker to run


def test_an_empty_array_loads_nothing(tenant: Tenant, write_file: Callable[[Any], Path]) -> None:
    assert load_jobs("acme", write_file([])).strip() == "Loaded 0 jobs into tenant acme"
    assert Job.objects.count() == 0


def test_the_same_file_loads_into_two_tenants(
    tenant: Tenant, other_tenant: Tenant, write_file: Callable[[Any], Path]
) -> None:
    path = write_file(history())

    load_jobs("acme", path)
    load_jobs("globex", path)

    assert Job.objects.filter(tenant=tenant).count() == 5
    assert Job.objects.filter(tenant=other_tenant).count() == 5


# --- load_jobs: a bad file is refused whole ----------------------------------------------------------------------


def _refused(tenant: str, path: Path) -> str:
    with pytest.raises(CommandError) as raised:
        load_jobs(tenant, path)
    return str(raised.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[{", "is not valid JSON"),
        ("", "is not valid JSON"),
        ('{"id": "x", "type": "EXPORT", "status": "success"}', "must hold a JSON array"),
        ('"jobs"', "must hold a JSON array"),
        ("null", "must hold a JSON array"),
    ],
    ids=["truncated", "empty", "an object", "a string", "null"],
)
def test_it_refuses_a_file_that_is_not_a_json_array(
    tenant: Tenant, write_file: Callable[[Any], Path], content: str, expected: str
) -> None:
    message = _refused("acme", write_file(content))

    assert expected in message
    assert "Nothing was loaded" in message
    assert Job.objects.count() == 0


def test_it_refuses_a_file_that_is_not_utf8(tenant: Tenant, tmp_path: Path) -> None:
    path = tmp_path / "jobs.json"
    path.write_bytes(b'[{"id": "\xff"}]')

    message = _refused("acme", path)

    assert "is not valid JSON" in message
    assert Job.objects.count() == 0


def _without(field: str) -> dict[str, Any]:
    job = history()[3]
    del job[field]
    return job


def _with(**fields: Any) -> dict[str, Any]:
    return {**history()[3], **fields}


def _with_metadata(**fields: Any) -> dict[str, Any]:
    job = history()[3]
    job["metadata"].update(fields)
    return job


# Each bad element comes last, after good ones: nothing may be stored even though the good ones came first.
BAD_ELEMENTS = {
    "missing id": (_without("id"), "'id'"),
    "missing type": (_without("type"), "'type'"),
    "missing status": (_without("status"), "'status'"),
    "empty id": (_with(id=""), "'id'"),
    "blank id": (_with(id="   "), "'id'"),
    "numeric id": (_with(id=17), "'id'"),
    "too long id": (_with(id="x" * 256), "'id'"),
    "bad status": (_with(status="done"), "'status' is 'done'"),
    "status in capitals": (_with(status="SUCCESS"), "'status' is 'SUCCESS'"),
    "bad type": (_with(type="CHAT"), "'type' is 'CHAT'"),
    "bad agent type": (_with(agentType="sales"), "'agentType' is 'sales'"),
    "numeric message": (_with(message=42), "'message'"),
    "export result not an object": (_with(exportResult="eyJ9"), "'exportResult'"),
    "import result not an object": (_with(importResult=[]), "'importResult'"),
    "metadata not an object": (_with(metadata="v1"), "'metadata'"),
    "bad createdAt": (_with_metadata(createdAt="yesterday"), "'metadata.createdAt' is 'yesterday'"),
    "impossible createdAt": (_with_metadata(createdAt="2025-02-30T10:00:00.000Z"), "'metadata.createdAt'"),
    "numeric createdAt": (_with_metadata(createdAt=1721900000), "'metadata.createdAt'"),
    "bad modifiedAt": (_with_metadata(modifiedAt="2025-07-25 nine"), "'metadata.modifiedAt'"),
    "version zero": (_with_metadata(version=0), "'metadata.version'"),
    "version as text": (_with_metadata(version="2"), "'metadata.version'"),
    "version as boolean": (_with_metadata(version=True), "'metadata.version'"),
    "not an object": ("6881f0a3c0ffee0000000099", "must be a JSON object"),
}


@pytest.mark.parametrize(("bad", "expected"), BAD_ELEMENTS.values(), ids=BAD_ELEMENTS.keys())
def test_it_refuses_the_whole_file_when_its_last_job_is_bad(
    tenant: Tenant, write_file: Callable[[Any], Path], bad: Any, expected: str
) -> None:
    good = history()[:3]

    message = _refused("acme", write_file([*good, bad]))

    assert message.startswith("job #4")  # says which job
    assert expected in message
    assert "Nothing was loaded" in message
    assert Job.objects.count() == 0


def test_it_refuses_the_whole_file_when_a_job_in_the_middle_is_bad(
    tenant: Tenant, write_file: Callable[[Any], Path]
) -> None:
    jobs = history()
    jobs[2]["status"] = "cancelled"

    message = _refused("acme", write_file(jobs))

    assert message.startswith("job #3 (id legacy-import-17): 'status' is 'cancelled'")
    assert Job.objects.count() == 0


def test_it_refuses_a_file_with_the_same_id_twice(tenant: Tenant, write_file: Callable[[Any], Path]) -> None:
    jobs = history()
    jobs.append({**jobs[0], "status": "failure"})

    message = _refused("acme", write_file(jobs))

    assert "job #6" in message
    assert "6881f0a3c0ffee0000000001 appears more than once" in message
    assert "Nothing was loaded" in message
    assert Job.objects.count() == 0


def test_it_refuses_a_file_with_ids_already_in_the_tenant(
    tenant: Tenant, make_job: Callable[..., Job], write_file: Callable[[Any], Path]
) -> None:
    make_job(job_id="legacy-import-17", type=Job.Type.EXPORT)

    message = _refused("acme", write_file(history()))

    assert "already in tenant acme: legacy-import-17" in message
    assert "Nothing was loaded" in message
    assert list(Job.objects.values_list("job_id", flat=True)) == ["legacy-import-17"]


# Values the file may well hold but the columns cannot: they must be refused with a message like any other bad value
# (on PostgreSQL they would otherwise fail inside the database; on SQLite they would be stored as they are).
UNSTORABLE = {
    "agentId over 255 characters": _with(agentId="a" * 256),
    "sessionId over 255 characters": _with(sessionId="s" * 256),
    "version over the integer column": _with_metadata(version=2**31),
}


@pytest.mark.parametrize("bad", UNSTORABLE.values(), ids=UNSTORABLE.keys())
def test_it_refuses_values_the_columns_cannot_hold(
    tenant: Tenant, write_file: Callable[[Any], Path], bad: dict[str, Any]
) -> None:
    message = _refused("acme", write_file([*history()[:3], bad]))

    assert message.startswith("job #4")
    assert "Nothing was loaded" in message
    assert Job.objects.count() == 0


def test_it_refuses_to_load_into_an_unknown_tenant(tenant: Tenant, write_file: Callable[[Any], Path]) -> None:
    message = _refused("initech", write_file(history()))

    assert "No tenant named 'initech'" in message
    assert Job.objects.count() == 0
    assert not Tenant.objects.filter(name="initech").exists()


def test_it_says_when_the_file_cannot_be_read(tenant: Tenant, tmp_path: Path) -> None:
    message = _refused("acme", tmp_path / "missing.json")

    assert message.startswith(f"Cannot read {tmp_path / 'missing.json'}")
    assert Job.objects.count() == 0


# --- seed_jobs ---------------------------------------------------------------------------------------------------


def seed_jobs(*args: str) -> str:
    out = StringIO()
    call_command("seed_jobs", *args, stdout=out)
    return out.getvalue()


def read_all(tenant: Tenant, make_token: Callable[..., str]) -> list[dict[str, Any]]:
    """Every job of the tenant through the API, oldest first; the test client checks them against the contract."""
    client = ApiClientForTests()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {make_token(tenant)}"
    response = client.get(
        f"/ai-service/{tenant.name}/jobs",
        {"pageSize": "1000", "sort": "metadata.createdAt:asc"},
        HTTP_X_TOTAL_COUNT="true",
    )
    assert response.status_code == 200
    assert response["X-Total-Count"] == str(len(response.body))
    jobs: list[dict[str, Any]] = response.body
    return jobs


# seed_jobs ends with VACUUM on PostgreSQL, which cannot run inside the transaction of an ordinary db test.
seeding = pytest.mark.django_db(transaction=True)


@seeding
def test_it_seeds_n_tenants_with_m_valid_jobs_each(make_token: Callable[..., str]) -> None:
    output = seed_jobs("--tenants", "3", "--jobs-per-tenant", "40")

    assert output.startswith("Seeded 120 jobs in 3 tenants in ")
    tenants = list(Tenant.objects.order_by("name"))
    assert [t.name for t in tenants] == ["seed001", "seed002", "seed003"]
    for tenant in tenants:
        jobs = read_all(tenant, make_token)
        assert len(jobs) == 40
        assert len({job["id"] for job in jobs}) == 40
        assert {job["type"] for job in jobs} <= set(Job.Type.values)
        assert {job["status"] for job in jobs} <= set(Job.Status.values)
        for job in jobs:
            meta = job["metadata"]
            assert parse_instant(meta["modifiedAt"]) >= parse_instant(meta["createdAt"])
            assert meta["version"] >= 1


@seeding
def test_it_names_the_tenants_with_the_prefix(make_token: Callable[..., str]) -> None:
    seed_jobs("--tenants", "2", "--jobs-per-tenant", "5", "--prefix", "demo")

    assert list(Tenant.objects.order_by("name").values_list("name", flat=True)) == ["demo001", "demo002"]
    assert Job.objects.filter(tenant__name="demo001").count() == 5
    assert Job.objects.filter(tenant__name="demo002").count() == 5


@seeding
def test_it_seeds_one_named_tenant_creating_it(make_token: Callable[..., str]) -> None:
    output = seed_jobs("--tenant", "solo", "--jobs-per-tenant", "25")

    assert output.startswith("Seeded 25 jobs in 1 tenants in ")
    tenant = Tenant.objects.get()
    assert tenant.name == "solo"
    assert len(read_all(tenant, make_token)) == 25


@seeding
def test_it_adds_jobs_to_an_existing_tenant_next_to_its_own(
    tenant: Tenant, make_job: Callable[..., Job], make_token: Callable[..., str]
) -> None:
    make_job(job_id="mine")

    seed_jobs("--tenant", "acme", "--jobs-per-tenant", "10")

    assert Tenant.objects.count() == 1
    assert Job.objects.filter(tenant=tenant).count() == 11
    assert Job.objects.filter(tenant=tenant, job_id="mine").exists()
    assert len(read_all(tenant, make_token)) == 11


def _controlled_by_the_seed(jobs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What the seed decides about each job: every field except the generated ids, with times taken relative to
    the first job (the seeded year ends at the moment the command runs)."""
    start = parse_instant(jobs[0]["metadata"]["createdAt"])
    agents: dict[str, int] = {}
    rows = []
    for job in jobs:
        created = parse_instant(job["metadata"]["createdAt"])
        modified = parse_instant(job["metadata"]["modifiedAt"])
        imported = job.get("importResult")
        rows.append(
            (
                job["type"],
                job["status"],
                job.get("agentType"),
                agents.setdefault(job["agentId"], len(agents)) if "agentId" in job else None,
                "sessionId" in job,
                job.get("message"),
                job.get("commerceEvent"),
                job.get("exportResult"),
                imported and (imported["message"], [a["name"] for a in imported["summary"]["agents"]]),
                job["metadata"]["version"],
                created - start,
                modified - created,
            )
        )
    return rows


@seeding
def test_the_same_seed_gives_the_same_jobs(make_token: Callable[..., str]) -> None:
    seed_jobs("--tenant", "first", "--jobs-per-tenant", "60", "--seed", "7")
    seed_jobs("--tenant", "second", "--jobs-per-tenant", "60", "--seed", "7")
    seed_jobs("--tenant", "other", "--jobs-per-tenant", "60", "--seed", "8")

    first, second, other = (
        read_all(Tenant.objects.get(name=name), make_token) for name in ("first", "second", "other")
    )

    assert len(first) == len(second) == len(other) == 60
    assert _controlled_by_the_seed(first) == _controlled_by_the_seed(second)
    assert _controlled_by_the_seed(first) != _controlled_by_the_seed(other)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--jobs-per-tenant", "5"], "Give --tenants N (at least 1) or --tenant NAME."),
        (["--tenants", "0", "--jobs-per-tenant", "5"], "Give --tenants N (at least 1) or --tenant NAME."),
        (["--tenants", "2", "--jobs-per-tenant", "-1"], "--jobs-per-tenant must be at least 0."),
        (["--tenant", "Not Valid", "--jobs-per-tenant", "5"], "'Not Valid' is not a valid tenant name"),
        (["--tenant", "solo\n", "--jobs-per-tenant", "5"], "is not a valid tenant name"),
        (["--tenants", "2", "--prefix", "9x", "--jobs-per-tenant", "5"], "'9x001' is not a valid tenant name"),
        (["--tenants", "1", "--prefix", "abcdefghijklmn", "--jobs-per-tenant", "5"], "is not a valid tenant name"),
        (["--tenants", "2"], "--jobs-per-tenant"),
    ],
    ids=[
        "no tenants",
        "zero tenants",
        "negative jobs",
        "bad name",
        "name with a newline",
        "bad prefix",
        "names too long",
        "no job count",
    ],
)
def test_it_refuses_bad_options_and_creates_nothing(db: Any, args: list[str], expected: str) -> None:
    with pytest.raises(CommandError) as raised:
        seed_jobs(*args)

    assert expected in str(raised.value)
    assert Tenant.objects.count() == 0
    assert Job.objects.count() == 0

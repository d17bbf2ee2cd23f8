"""POST .../agentic/agents/export and .../import without a worker: access, validation, the 202 and 200 answers, and
when the task is sent. A job is run, where a test needs it finished, by calling the runner in place of the worker.

The end-to-end path through a real worker is in test_transfer_worker.py."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest

from apps.agents import importing
from apps.agents.bundle import bundle_collect, bundle_decode, bundle_encode
from apps.agents.models import Agent, McpServer, Tool
from apps.agents.seeding import Catalogue, seed_catalogue
from apps.core.timefmt import format_instant
from apps.jobs import runners, selectors, services, tasks
from apps.jobs.models import Job
from apps.jobs.runners import job_execute
from apps.tenants.models import Tenant
from tests.agents import conftest as agents_conftest
from tests.agents.conftest import (
    assert_bad_request,
    assert_forbidden,
    assert_unauthorized,
    client_with,
)
from tests.conftest import MANAGE, READ

EXPORT = "/ai-service/{tenant}/agentic/agents/export"
IMPORT = "/ai-service/{tenant}/agentic/agents/import"
ASYNC = {"HTTP_PREFER": "respond-async"}


# The agents API's clients (tests/agents/conftest.py), which also check every answer against our own OpenAPI
# document, in place of the plain ones of tests/conftest.py.
api, reader, outsider = agents_conftest.api, agents_conftest.reader, agents_conftest.outsider


@pytest.fixture(autouse=True)
def broker(monkeypatch: pytest.MonkeyPatch) -> mock.Mock:
    """Sending the task is recorded, never done: no test here may reach a broker."""
    send = mock.Mock(name="job_run.apply_async")
    monkeypatch.setattr(tasks.job_run, "apply_async", send)
    return send


@pytest.fixture
def catalogue(tenant: Tenant) -> Catalogue:
    return seed_catalogue(tenant=tenant, agents=2, tools_per_agent=1, servers_per_agent=1)


@pytest.fixture
def exported(catalogue: Catalogue, tenant: Tenant) -> dict[str, str]:
    """A saved export of acme's first agent (and the one it hands off to), as a client would send it back."""
    data, checksum = bundle_encode(bundle_collect(tenant=tenant, agent_ids=catalogue.agents[:1]))
    return {"data": data, "checksum": checksum}


@pytest.fixture
def worker_in_place(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The view's wait for the job, with the job run first, as a worker would have run it meanwhile. The real
    job_wait then reads the row (timeout 0: no polling). Returns the timeouts the view asked for."""
    real_wait = selectors.job_wait
    asked: list[float] = []

    def wait(*, tenant: Tenant, job_pk: int, timeout: float) -> Job | None:
        asked.append(timeout)
        job_execute(job_pk=job_pk)
        return real_wait(tenant=tenant, job_pk=job_pk, timeout=0)

    monkeypatch.setattr(selectors, "job_wait", wait)
    return asked


def export(client: Any, agent_ids: Any, tenant: str = "acme", **headers: str) -> Any:
    return client.post(
        EXPORT.format(tenant=tenant), {"agentIds": agent_ids}, content_type="application/json", **headers
    )


def import_(client: Any, body: Any, tenant: str = "acme", **headers: str) -> Any:
    return client.post(IMPORT.format(tenant=tenant), body, content_type="application/json", **headers)


def job_of(response: Any) -> Job:
    return Job.objects.get(job_id=response.body["jobId"])


def nothing_written(tenant: Tenant) -> bool:
    return not (
        Job.objects.exists()
        or Agent.objects.filter(tenant=tenant).exists()
        or Tool.objects.filter(tenant=tenant).exists()
        or McpServer.objects.filter(tenant=tenant).exists()
    )


# --- the access checklist, for both operations ----------------------------------------------------------------------


@pytest.fixture(params=["export", "import"])
def operation(request: pytest.FixtureRequest, catalogue: Catalogue, exported: dict[str, str]) -> Callable[..., Any]:
    """Call one of the two operations with a valid body (on acme's path unless told)."""
    if request.param == "export":
        return lambda client, tenant="acme", **headers: export(client, catalogue.agents[:1], tenant, **headers)
    return lambda client, tenant="acme", **headers: import_(client, exported, tenant, **headers)


def test_both_operations_work_for_a_manager(manager, operation):
    response = operation(manager, **ASYNC)

    assert response.status_code == 202, response.body
    assert Job.objects.filter(job_id=response.body["jobId"], tenant__name="acme").exists()


def test_both_operations_answer_401_in_the_fault_shape_without_a_token(api, operation):
    assert_unauthorized(operation(api, **ASYNC))
    assert not Job.objects.exists()


@pytest.mark.parametrize("authorization", ["Bearer not-a-real-token", "Bearer", "Basic YWNtZTpzZWNyZXQ="])
def test_both_operations_answer_401_in_the_fault_shape_for_a_bad_token(api, operation, authorization):
    assert_unauthorized(operation(api, HTTP_AUTHORIZATION=authorization, **ASYNC))
    assert not Job.objects.exists()


def test_both_operations_answer_401_for_an_expired_token(tenant, make_token, operation):
    response = operation(client_with(make_token(tenant, READ, MANAGE, expires_in=-1)), **ASYNC)

    assert response.status_code == 401
    assert response.body["fault"]["detail"]["errorcode"] == "keymanagement.service.access_token_expired"
    assert not Job.objects.exists()


def test_both_operations_answer_403_on_another_tenants_path(outsider, operation):
    assert_forbidden(operation(outsider, **ASYNC))
    assert not Job.objects.exists()


def test_an_unknown_tenant_answers_exactly_as_a_foreign_one(manager, other_tenant, operation):
    foreign = operation(manager, tenant="globex", **ASYNC)
    unknown = operation(manager, tenant="nosuch", **ASYNC)

    assert_forbidden(foreign)
    assert unknown.status_code == 403 and unknown.body == foreign.body
    assert not Job.objects.exists()


def test_export_needs_the_read_scope_only(tenant, make_token, catalogue):
    assert export(client_with(make_token(tenant, READ)), catalogue.agents[:1], **ASYNC).status_code == 202
    assert_forbidden(export(client_with(make_token(tenant, MANAGE)), catalogue.agents[:1], **ASYNC))
    assert Job.objects.count() == 1


def test_import_needs_the_manage_scope(tenant, make_token, exported):
    assert_forbidden(import_(client_with(make_token(tenant, READ)), exported, **ASYNC))
    assert not Job.objects.exists()
    assert import_(client_with(make_token(tenant, MANAGE)), exported, **ASYNC).status_code == 202


def test_a_token_of_another_tenant_cannot_import_into_this_one_even_with_its_scope(outsider, tenant, exported):
    response = import_(outsider, exported, tenant="acme", **ASYNC)

    assert_forbidden(response)
    assert Agent.objects.filter(tenant=tenant).count() == 2
    assert not Job.objects.exists()


# --- export: agentIds ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"agentIds": None},
        {"agentIds": "s-agent-0"},
        {"agentIds": {"0": "s-agent-0"}},
        {"agentIds": 1},
        {"agentIds": [1]},
        {"agentIds": [""]},
        {"agentIds": [None]},
        {"agentIds": [["s-agent-0"]]},
        {"agentIds": ["s-agent-0", {"id": "s-agent-1"}]},
        {"agentids": ["s-agent-0"]},
    ],
)
def test_agent_ids_that_are_not_a_list_of_non_empty_strings_are_a_400_and_no_job(manager, catalogue, body):
    response = manager.post(EXPORT.format(tenant="acme"), body, content_type="application/json", **ASYNC)

    assert_bad_request(response, "agentIds", "agentIds must be a list of agent ids")
    assert not Job.objects.exists()


def test_an_empty_list_of_agent_ids_is_a_400_and_no_job(manager, catalogue):
    response = export(manager, [], **ASYNC)

    assert_bad_request(response, "agentIds", "between 1 and 100 agents; it names 0")
    assert not Job.objects.exists()


def test_more_than_100_agent_ids_are_a_400_and_no_job(manager, catalogue):
    response = export(manager, [*catalogue.agents, *(f"x{n}" for n in range(99))], **ASYNC)

    assert_bad_request(response, "agentIds", "between 1 and 100 agents; it names 101")
    assert not Job.objects.exists()


def test_100_agent_ids_pass_the_count_and_repeated_ids_count_once(manager, catalogue):
    hundred = [*catalogue.agents, *(f"x{n}" for n in range(98))]

    response = export(manager, hundred + hundred[:5], **ASYNC)

    # Past the count check: refused only because x0..x97 are not acme's.
    assert_bad_request(response, "agentIds", "No agents with ids x0, x1")
    assert not Job.objects.exists()


def test_unknown_agent_ids_are_a_400_naming_each_of_them_and_no_job(manager, catalogue, other_tenant):
    seed_catalogue(tenant=other_tenant, agents=1, tools_per_agent=0, servers_per_agent=0, prefix="g")

    response = export(manager, [catalogue.agents[0], "nope", "g-agent-0"], **ASYNC)

    assert_bad_request(response, "agentIds")
    assert response.body["message"] == "No agents with ids nope, g-agent-0 in this tenant."
    assert not Job.objects.exists()


def test_an_agent_id_holding_a_nul_is_an_unknown_agent_and_no_job(manager, catalogue):
    # PostgreSQL refuses a NUL even in a comparison: this was a 500 there.
    response = export(manager, [catalogue.agents[0], "a\x00b"], **ASYNC)

    assert_bad_request(response, "agentIds")
    assert response.body["message"] == "No agents with ids a\x00b in this tenant."
    assert not Job.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400_and_no_job(manager, catalogue):
    response = manager.post(EXPORT.format(tenant="acme"), [catalogue.agents[0]], content_type="application/json")

    assert_bad_request(response, "body", "must be a JSON object")
    assert not Job.objects.exists()


# --- import: the bundle ----------------------------------------------------------------------------------------------


def _damaged(exported: dict[str, str], change: str) -> dict[str, Any]:
    data, checksum = exported["data"], exported["checksum"]
    return {
        "no data": {"checksum": checksum},
        "no checksum": {"data": data},
        "empty body": {},
        "data not a string": {"data": json.loads(base64.b64decode(data)), "checksum": checksum},
        "checksum not a string": {"data": data, "checksum": 12345},
        "bad base64": {"data": "not base64!", "checksum": checksum},
        "checksum of zeros": {"data": data, "checksum": "0" * 64},
        "data changed": {"data": base64.b64encode(base64.b64decode(data) + b" ").decode(), "checksum": checksum},
    }[change]


@pytest.mark.parametrize(
    "change, field, fragment",
    [
        ("no data", "data", "data is required"),
        ("no checksum", "checksum", "checksum is required"),
        ("empty body", "data", "data is required"),
        ("data not a string", "data", "data is required"),
        ("checksum not a string", "checksum", "checksum is required"),
        ("bad base64", "data", "data is not valid base64"),
        ("checksum of zeros", "checksum", "checksum does not match data"),
        ("data changed", "checksum", "checksum does not match data"),
    ],
)
def test_a_bundle_that_does_not_check_out_is_a_400_and_nothing_is_written(
    manager, other_tenant, outsider, exported, change, field, fragment
):
    response = import_(outsider, _damaged(exported, change), tenant="globex", **ASYNC)

    assert_bad_request(response, field, fragment)
    assert nothing_written(other_tenant)


@pytest.mark.parametrize(
    "document, fragment",
    [
        ({"formatVersion": 2, "agents": [{"id": "a"}]}, "Export format version 2 is not supported"),
        ({"formatVersion": 1, "agents": []}, "The export holds no agents"),
        ({"formatVersion": 1, "agents": [{"id": "a"}], "tools": {"id": "t"}}, "data.tools must be a list"),
        (["not", "an", "object"], "expected a JSON object"),
    ],
)
def test_a_signed_bundle_of_the_wrong_shape_is_a_400_and_nothing_is_written(outsider, other_tenant, document, fragment):
    data, checksum = bundle_encode(document)  # type: ignore[arg-type]

    response = import_(outsider, {"data": data, "checksum": checksum}, tenant="globex", **ASYNC)

    assert_bad_request(response, "data", fragment)
    assert nothing_written(other_tenant)


@pytest.mark.parametrize("checksum", ["é" * 64, "☃", "abc", "0" * 63, "f" * 128, "z" * 64])
def test_a_checksum_that_is_not_64_hexadecimal_characters_is_a_400_and_nothing_is_written(
    outsider, other_tenant, exported, checksum
):
    response = import_(outsider, {"data": exported["data"], "checksum": checksum}, tenant="globex", **ASYNC)

    assert_bad_request(response, "checksum", "64 hexadecimal characters")
    assert nothing_written(other_tenant)


WRONG_TYPES: tuple[Any, ...] = (None, 7, [1], {"k": 1})


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document: each object member and list item, at any depth."""
    children: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    return [p for key, child in children for p in [(*path, key), *_paths(child, (*path, key))]]


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(document))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def test_a_signed_bundle_with_a_wrong_type_anywhere_is_a_400_or_imported_but_never_a_500(
    outsider, exported, worker_in_place
):
    document = bundle_decode(exported["data"], exported["checksum"])
    answers: dict[int, int] = {}
    for path in _paths(document):
        for value in WRONG_TYPES:
            data, checksum = bundle_encode(_replaced(document, path, value))
            response = import_(outsider, {"data": data, "checksum": checksum}, tenant="globex")
            answers[response.status_code] = answers.get(response.status_code, 0) + 1
            assert response.status_code in (200, 400), (path, value, response.body)
            if response.status_code == 400:
                assert response.body["message"], (path, value)
    assert answers[400] and answers[200]  # both kinds happened: the walk reached the structure and the entities


def test_fields_other_than_data_and_checksum_are_ignored(outsider, exported):
    body = {**exported, "exportedAt": "2025-07-24T10:00:00.000Z", "jobId": "6881f0a3c0ffee0000000001", "x": [1]}

    response = import_(outsider, body, tenant="globex", **ASYNC)

    assert response.status_code == 202, response.body
    assert job_of(response).payload == exported


# --- 202 -------------------------------------------------------------------------------------------------------------


def test_respond_async_answers_202_with_the_job_its_location_and_the_preference_applied(manager, catalogue):
    response = export(manager, catalogue.agents[:1], **ASYNC)

    assert response.status_code == 202
    job = job_of(response)
    assert response.body == {"jobId": job.job_id}
    assert response["Location"] == f"/ai-service/acme/jobs/{job.job_id}"
    assert response["Preference-Applied"] == "respond-async"
    assert (job.tenant.name, job.type, job.status, job.payload) == (
        "acme",
        "EXPORT",
        "in_progress",
        {"agentIds": catalogue.agents[:1]},
    )


def test_respond_async_does_not_wait_even_when_a_wait_is_given(manager, catalogue, monkeypatch):
    monkeypatch.setattr(selectors, "job_wait", mock.Mock(side_effect=AssertionError("must not wait")))

    response = export(manager, catalogue.agents[:1], HTTP_PREFER="Respond-Async, wait=5")

    assert response.status_code == 202
    assert response["Preference-Applied"] == "respond-async"


@pytest.mark.parametrize("headers", [{"HTTP_PREFER": "wait=0"}, {}])
def test_a_wait_that_runs_out_answers_202_without_preference_applied(manager, catalogue, settings, headers):
    settings.JOB_WAIT_SECONDS = 0

    response = export(manager, catalogue.agents[:1], **headers)

    assert response.status_code == 202
    assert "Preference-Applied" not in response
    assert response["Location"] == f"/ai-service/acme/jobs/{response.body['jobId']}"


def test_an_import_answers_202_the_same_way(outsider, exported):
    response = import_(outsider, exported, tenant="globex", HTTP_PREFER="wait=0")

    assert response.status_code == 202
    job = job_of(response)
    assert (job.tenant.name, job.type, job.status) == ("globex", "IMPORT", "in_progress")
    assert response["Location"] == f"/ai-service/globex/jobs/{job.job_id}"
    assert "Preference-Applied" not in response


@pytest.mark.parametrize(
    "prefer, waited", [("wait=3", 3.0), ("wait=2.5", 2.5), ("wait=60", 10.0), ("", 10.0), ("wait=abc", 10.0)]
)
def test_the_wait_is_the_shorter_of_the_preference_and_job_wait_seconds(
    manager, catalogue, settings, worker_in_place, prefer, waited
):
    settings.JOB_WAIT_SECONDS = 10

    export(manager, catalogue.agents[:1], HTTP_PREFER=prefer)

    assert worker_in_place == [waited]


def test_each_request_is_its_own_job(manager, catalogue):
    first = export(manager, catalogue.agents[:1], **ASYNC).body["jobId"]
    second = export(manager, catalogue.agents[:1], **ASYNC).body["jobId"]

    assert first != second
    assert Job.objects.count() == 2


# --- the task is sent after the commit, carrying the job's pk only --------------------------------------------------


@pytest.mark.parametrize("kind", ["export", "import"])
def test_the_task_is_sent_only_once_the_job_is_committed_with_the_jobs_pk_alone(
    manager, catalogue, exported, broker, django_capture_on_commit_callbacks, kind
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        if kind == "export":
            response = export(manager, catalogue.agents[:1], **ASYNC)
        else:
            response = import_(manager, exported, **ASYNC)
        assert response.status_code == 202
        broker.assert_not_called()  # the job's row is not committed yet

    job = job_of(response)
    assert job.dispatched_at is None
    assert len(callbacks) == 1
    callbacks[0]()

    broker.assert_called_once_with(args=[job.pk], queue="celery", countdown=None, retry=False)
    assert isinstance(broker.call_args.kwargs["args"][0], int)
    job.refresh_from_db()
    assert job.dispatched_at is not None


def test_a_refused_request_sends_nothing(manager, catalogue, broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        export(manager, ["nope"], **ASYNC)
        import_(manager, {"data": "not base64!", "checksum": "0"}, **ASYNC)

    assert callbacks == []
    broker.assert_not_called()


def test_a_broker_that_cannot_be_reached_still_answers_202_and_leaves_the_job_for_the_sweep(
    manager, catalogue, broker, django_capture_on_commit_callbacks
):
    broker.side_effect = ConnectionRefusedError("broker down")

    with django_capture_on_commit_callbacks(execute=True):
        response = export(manager, catalogue.agents[:1], **ASYNC)

    assert response.status_code == 202
    job = job_of(response)
    assert (job.status, job.dispatched_at) == ("in_progress", None)


# --- 200 and 500, once the job has run -------------------------------------------------------------------------------


def test_a_finished_export_answers_200_with_the_bundle(manager, tenant, catalogue, worker_in_place):
    response = export(manager, catalogue.agents[:1])

    assert response.status_code == 200, response.body
    job = job_of(response)
    assert job.status == "success"
    assert set(response.body) == {"data", "checksum", "exportedAt", "jobId"}
    assert response.body["exportedAt"] == format_instant(job.finished_at)
    document = bundle_decode(response.body["data"], response.body["checksum"])
    assert [agent["id"] for agent in document["agents"]] == catalogue.agents
    assert sorted(tool["id"] for tool in document["tools"]) == sorted(catalogue.tools)
    assert document["tokens"] == [{"id": catalogue.token, "name": "LLM key"}]
    assert (response.body["data"], response.body["checksum"]) == (job.export_bundle.data, job.export_bundle.checksum)
    assert job.export_result is None  # the bundle is stored once, apart from the row
    assert "Location" not in response


def test_a_finished_import_answers_200_with_what_was_imported(outsider, other_tenant, exported, worker_in_place):
    response = import_(outsider, exported, tenant="globex")

    assert response.status_code == 200, response.body
    job = job_of(response)
    assert set(response.body) == {"summary", "message", "importedAt", "jobId"}
    assert response.body["summary"] == job.import_result["summary"]
    assert response.body["message"] == job.import_result["message"]
    assert response.body["importedAt"] == format_instant(job.finished_at)
    assert [(a["id"], a["state"]) for a in response.body["summary"]["agents"]] == [
        ("s-agent-0", "DISABLED"),
        ("s-agent-1", "DISABLED"),
    ]
    assert Agent.objects.filter(tenant=other_tenant, enabled=False).count() == 2


def test_the_import_answer_keeps_failed_while_the_jobs_api_shows_to_create(
    outsider, other_tenant, exported, worker_in_place, monkeypatch
):
    original = importing.references_add

    def failing(**kwargs: Any) -> None:
        if kwargs["public_id"] == "s-tool-0-0":
            raise RuntimeError("boom")
        original(**kwargs)

    monkeypatch.setattr(importing, "references_add", failing)

    response = import_(outsider, exported, tenant="globex")

    assert response.status_code == 200, response.body
    states = {tool["id"]: tool["state"] for tool in response.body["summary"]["tools"]}
    assert states["s-tool-0-0"] == "FAILED"
    assert "1 entity failed" in response.body["message"]
    job = outsider.get(f"/ai-service/globex/jobs/{response.body['jobId']}")
    shown = {tool["id"]: tool["state"] for tool in job.body["importResult"]["summary"]["tools"]}
    assert shown["s-tool-0-0"] == "TO_CREATE"


def test_a_failed_export_answers_500_with_the_jobs_message(manager, catalogue, worker_in_place, monkeypatch):
    monkeypatch.setattr(runners, "bundle_collect", mock.Mock(side_effect=RuntimeError("boom")))

    response = export(manager, catalogue.agents[:1])

    job = job_of_failed(response)
    assert response.body == {
        "code": 500,
        "status": "Internal Server Error",
        "message": job.message,
        "details": [{"field": "jobId", "type": "job", "message": job.job_id}],
    }
    assert job.message.startswith("The export failed because of an internal error")
    assert "boom" not in json.dumps(response.body)


def test_a_failed_import_answers_500_and_writes_nothing(outsider, other_tenant, exported, worker_in_place, monkeypatch):
    monkeypatch.setattr(runners, "bundle_apply", mock.Mock(side_effect=RuntimeError("boom")))

    response = import_(outsider, exported, tenant="globex")

    job = job_of_failed(response)
    assert response.body["message"] == job.message
    assert job.message.startswith("The import failed because of an internal error")
    assert not Agent.objects.filter(tenant=other_tenant).exists()


# --- fairness: a cap on exports and imports in progress, and on requests waiting for their job ----------------------


def test_an_export_over_the_tenants_cap_of_jobs_in_progress_answers_429_with_retry_after_and_no_job(
    manager, catalogue, settings
):
    settings.JOB_MAX_IN_PROGRESS_PER_TENANT = 3
    accepted = [export(manager, catalogue.agents[:1], **ASYNC) for _ in range(3)]
    assert [response.status_code for response in accepted] == [202, 202, 202]

    response = export(manager, catalogue.agents[:1], **ASYNC)

    assert response.status_code == 429, response.body
    assert response["Retry-After"] == "5"
    assert response.body["code"] == 429 and response.body["status"] == "Too Many Requests"
    assert "JOB_MAX_IN_PROGRESS_PER_TENANT=3" in response.body["message"]
    assert Job.objects.count() == 3


def test_an_import_counts_against_the_same_cap_as_exports(manager, outsider, catalogue, exported, settings):
    settings.JOB_MAX_IN_PROGRESS_PER_TENANT = 2
    assert export(outsider, ["none"], tenant="globex").status_code == 400  # refused requests take no place
    assert import_(outsider, exported, tenant="globex", **ASYNC).status_code == 202
    assert import_(outsider, exported, tenant="globex", **ASYNC).status_code == 202

    assert import_(outsider, exported, tenant="globex", **ASYNC).status_code == 429
    # Another tenant's work is not held up by it.
    assert export(manager, catalogue.agents[:1], **ASYNC).status_code == 202


def test_finished_jobs_and_other_kinds_of_job_leave_room_under_the_cap(manager, tenant, catalogue, make_job, settings):
    settings.JOB_MAX_IN_PROGRESS_PER_TENANT = 1
    make_job(type=Job.Type.EXPORT, status=Job.Status.SUCCESS)
    make_job(type=Job.Type.IMPORT, status=Job.Status.FAILURE)
    make_job(type=Job.Type.AGENT_CHAT)  # in progress, but not an export or import

    assert export(manager, catalogue.agents[:1], **ASYNC).status_code == 202
    assert export(manager, catalogue.agents[:1], **ASYNC).status_code == 429


def waiting_job(tenant: Tenant, seconds: float = 30) -> Job:
    """An export that a request of some web process is waiting for, `seconds` more."""
    job = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT)
    services.job_wait_begin(job=job, seconds=seconds)
    return job


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the views start (each returns at once, the job unfinished)."""
    asked: list[float] = []

    def wait(*, tenant: Tenant, job_pk: int, timeout: float) -> Job | None:
        asked.append(timeout)
        return Job.objects.get(pk=job_pk)

    monkeypatch.setattr(selectors, "job_wait", wait)
    return asked


def test_a_request_answers_202_at_once_when_its_tenant_has_as_many_requests_waiting_as_it_may(
    manager, outsider, tenant, other_tenant, catalogue, exported, settings, waits
):
    settings.JOB_WAITS_PER_TENANT, settings.JOB_WAITS_TOTAL = 2, 10
    waiting_job(tenant)
    waiting_job(tenant)

    refused = export(manager, catalogue.agents[:1])
    served = import_(outsider, exported, tenant="globex")

    assert refused.status_code == 202 and "Preference-Applied" not in refused
    assert refused["Location"] == f"/ai-service/acme/jobs/{refused.body['jobId']}"
    assert served.status_code == 202 and waits == [10.0]  # globex's request did wait
    assert job_of(refused).awaited_until is None


def test_a_request_answers_202_at_once_when_all_tenants_together_have_as_many_waiting_as_allowed(
    manager, outsider, tenant, other_tenant, catalogue, exported, settings, waits
):
    settings.JOB_WAITS_PER_TENANT, settings.JOB_WAITS_TOTAL = 5, 2
    waiting_job(tenant)
    waiting_job(tenant)

    assert import_(outsider, exported, tenant="globex").status_code == 202
    assert waits == []


def test_waits_that_ran_out_and_jobs_that_finished_no_longer_count_as_waiting(
    manager, tenant, catalogue, settings, waits
):
    settings.JOB_WAITS_PER_TENANT, settings.JOB_WAITS_TOTAL = 1, 1
    waiting_job(tenant, seconds=-1)  # its wait ran out
    finished = waiting_job(tenant)
    Job.objects.filter(pk=finished.pk).update(status=Job.Status.SUCCESS)

    response = export(manager, catalogue.agents[:1])

    assert response.status_code == 202 and waits == [10.0]
    assert job_of(response).awaited_until is not None


# --- sizes: one limit, IMPORT_MAX_BYTES, for what an import takes and what an export may make ----------------------


def big_agent(catalogue: Catalogue, tenant: Tenant, prompt_bytes: int) -> str:
    """The catalogue's last agent (it hands off to no one), with a prompt of `prompt_bytes` characters."""
    agent = Agent.objects.get(tenant=tenant, public_id=catalogue.agents[-1])
    agent.body = {**agent.body, "userPrompt": "Answer politely. " * (prompt_bytes // 17)}
    agent.save()
    return agent.public_id


def test_a_4_mb_export_is_imported_through_the_api(manager, outsider, tenant, other_tenant, catalogue, worker_in_place):
    exported = export(manager, [big_agent(catalogue, tenant, 3_100_000)])
    assert exported.status_code == 200, exported.body
    body = {"data": exported.body["data"], "checksum": exported.body["checksum"]}
    assert len(json.dumps(body)) > 4_000_000

    imported = import_(outsider, body, tenant="globex")

    assert imported.status_code == 200, imported.body
    assert (
        Agent.objects.get(tenant=other_tenant, public_id=catalogue.agents[-1])
        .body["userPrompt"]
        .startswith("Answer politely.")
    )


def test_an_import_body_over_the_limit_is_a_413_in_the_error_shape_and_no_job(outsider, settings):
    body = json.dumps({"data": "A" * (settings.IMPORT_MAX_BYTES + 64 * 1024), "checksum": "0" * 64})

    response = import_(outsider, body, tenant="globex")

    assert response.status_code == 413, response.body
    assert response.body["code"] == 413 and response.body["status"] == "Request Entity Too Large"
    assert "IMPORT_MAX_BYTES" in response.body["message"]
    assert not Job.objects.exists()


def test_an_import_body_just_under_the_limit_is_read(outsider, settings):
    settings.IMPORT_MAX_BYTES = 64 * 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    body = json.dumps({"data": "A" * (64 * 1024 - 100), "checksum": "0" * 64})

    response = import_(outsider, body, tenant="globex")

    assert_bad_request(response, "checksum", "checksum does not match data")


def test_an_export_larger_than_an_import_takes_fails_at_export_time_saying_so(
    manager, tenant, catalogue, worker_in_place, settings
):
    settings.IMPORT_MAX_BYTES = 64 * 1024

    response = export(manager, [big_agent(catalogue, tenant, 100_000)])

    job = job_of_failed(response)
    assert "more than an import takes (65536 bytes, IMPORT_MAX_BYTES)" in job.message
    assert "Export fewer agents" in job.message
    assert job.export_result is None


def job_of_failed(response: Any) -> Job:
    assert response.status_code == 500, response.body
    job = Job.objects.get(job_id=response.body["details"][0]["message"])
    assert job.status == "failure"
    return job


# --- the job behind the answer ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["export", "import"])
def test_the_job_is_visible_in_the_jobs_api_at_once_and_in_progress(manager, catalogue, exported, kind):
    if kind == "export":
        response = export(manager, catalogue.agents[:1], **ASYNC)
    else:
        response = import_(manager, exported, **ASYNC)

    job = manager.get(response["Location"])  # the client checks the contract

    assert job.status_code == 200
    assert job.body["id"] == response.body["jobId"]
    assert (job.body["type"], job.body["status"]) == (kind.upper(), "in_progress")
    assert "exportResult" not in job.body and "importResult" not in job.body
    # What the worker needs (the agent ids, the whole bundle) is bookkeeping, never shown.
    assert exported["data"] not in json.dumps(job.body)
    assert job.body["metadata"]["version"] == 1


def test_the_job_is_never_visible_to_another_tenant(manager, outsider, catalogue):
    job_id = export(manager, catalogue.agents[:1], **ASYNC).body["jobId"]

    assert outsider.get(f"/ai-service/globex/jobs/{job_id}").status_code == 404
    assert outsider.get(f"/ai-service/acme/jobs/{job_id}").status_code == 403
    listed = outsider.get("/ai-service/globex/jobs")
    assert listed.status_code == 200 and job_id not in json.dumps(listed.body)
    searched = outsider.post("/ai-service/globex/jobs/search", {"q": f"id:{job_id}"}, content_type="application/json")
    assert searched.status_code == 200 and searched.body == []


def test_the_finished_job_holds_the_same_result_as_the_answer(manager, catalogue, worker_in_place):
    response = export(manager, catalogue.agents[:1])

    job = manager.get(f"/ai-service/acme/jobs/{response.body['jobId']}")

    assert job.body["status"] == "success"
    assert job.body["exportResult"] == {"data": response.body["data"], "checksum": response.body["checksum"]}
    assert job.body["metadata"]["version"] == 2

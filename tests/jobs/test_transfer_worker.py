"""Export and import end to end, through the HTTP API and a real Celery worker on the configured broker."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import override_settings

from apps.agents.bundle import bundle_encode
from apps.agents.models import Agent, McpServer, Reference, Tool
from apps.agents.seeding import seed_catalogue
from apps.jobs import services, tasks
from apps.jobs.models import Job
from tests.worker import thread_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def worker(django_db_setup: Any, django_db_blocker: Any) -> Any:
    # One worker for the module: starting and stopping one per test costs seconds each time.
    with django_db_blocker.unblock(), thread_worker():
        yield


def export(client: Any, tenant: str, agent_ids: list[str], **headers: str) -> Any:
    path = f"/ai-service/{tenant}/agentic/agents/export"
    return client.post(path, {"agentIds": agent_ids}, content_type="application/json", **headers)


def import_(client: Any, tenant: str, bundle: dict[str, Any], **headers: str) -> Any:
    path = f"/ai-service/{tenant}/agentic/agents/import"
    return client.post(path, bundle, content_type="application/json", **headers)


def job_of(client: Any, tenant: str, job_id: str) -> dict[str, Any]:
    response = client.get(f"/ai-service/{tenant}/jobs/{job_id}")
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.body
    return body


def test_an_export_imported_into_another_tenant_recreates_its_agents_tools_and_servers(
    worker, tenant, other_tenant, manager, outsider
):
    catalogue = seed_catalogue(tenant=tenant, agents=3, tools_per_agent=2, servers_per_agent=1)
    exported = export(manager, "acme", [catalogue.agents[0]])
    assert exported.status_code == 200, exported.body
    assert set(exported.body) == {"data", "checksum", "exportedAt", "jobId"}
    document = json.loads(base64.b64decode(exported.body["data"]))
    # The first agent hands off to the second, which hands off to the third: all three travel.
    assert [agent["id"] for agent in document["agents"]] == catalogue.agents
    assert sorted(tool["id"] for tool in document["tools"]) == sorted(catalogue.tools)
    assert document["tokens"] == [{"id": catalogue.token, "name": "LLM key"}]
    assert job_of(manager, "acme", exported.body["jobId"])["status"] == "success"

    globex = outsider
    bundle = {"data": exported.body["data"], "checksum": exported.body["checksum"], "exportedAt": "ignored"}
    imported = import_(globex, "globex", bundle)
    assert imported.status_code == 200, imported.body
    summary = imported.body["summary"]
    assert [(a["id"], a["state"]) for a in summary["agents"]] == [(a, "DISABLED") for a in catalogue.agents]
    # globex has no token with the bundle's token id: tools and servers are created disabled, saying so.
    assert {t["state"] for t in summary["tools"] + summary["mcpServers"]} == {"DISABLED"}
    assert all(d["code"] == "MISSING_TOKEN" for t in summary["tools"] for d in t["details"])
    assert Agent.objects.filter(tenant=other_tenant, enabled=False).count() == 3
    assert Tool.objects.filter(tenant=other_tenant).count() == 6
    assert McpServer.objects.filter(tenant=other_tenant).count() == 3
    first = Agent.objects.get(tenant=other_tenant, public_id=catalogue.agents[0])
    assert first.body["agentCollaborations"][0]["agentId"] == catalogue.agents[1]
    assert (
        Reference.objects.filter(tenant=other_tenant, source_id=catalogue.agents[0]).count() == 4
    )  # 2 tools, 1 server, 1 helper

    job = job_of(globex, "globex", imported.body["jobId"])
    assert job["type"] == "IMPORT" and job["status"] == "success"
    assert job["importResult"]["message"] == imported.body["message"]


def test_importing_the_same_bundle_twice_reuses_what_exists_and_copies_the_agents(
    worker, tenant, manager, other_tenant
):
    catalogue = seed_catalogue(tenant=tenant, agents=1, tools_per_agent=1, servers_per_agent=1)
    exported = export(manager, "acme", catalogue.agents).body
    bundle = {"data": exported["data"], "checksum": exported["checksum"]}

    again = import_(manager, "acme", bundle)

    assert again.status_code == 200, again.body
    summary = again.body["summary"]
    assert [t["state"] for t in summary["tools"] + summary["mcpServers"]] == ["EXISTS", "EXISTS"]
    [agent] = summary["agents"]
    assert agent["id"] != catalogue.agents[0]
    assert [d["code"] for d in agent["details"]] == ["ALREADY_EXISTS", "AGENT_IMPORTED_DISABLED"]
    assert Tool.objects.filter(tenant=tenant).count() == 1
    assert Agent.objects.filter(tenant=tenant).count() == 2
    assert "already existed" in again.body["message"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda b: {**b, "checksum": "0" * 64}, "checksum does not match"),
        (lambda b: {**b, "data": b["data"][:-8] + "AAAAAAAA"}, "checksum does not match"),
        (lambda b: {**b, "data": "not base64!"}, "not valid base64"),
        (lambda b: {"data": b["data"]}, "checksum is required"),
    ],
)
def test_a_damaged_bundle_is_refused_with_400_and_nothing_is_written(worker, tenant, manager, change, message):
    catalogue = seed_catalogue(tenant=tenant, agents=1)
    exported = export(manager, "acme", catalogue.agents).body
    jobs_before, agents_before = Job.objects.count(), Agent.objects.count()

    response = import_(manager, "acme", change({"data": exported["data"], "checksum": exported["checksum"]}))

    assert response.status_code == 400, response.body
    assert message in response.body["message"]
    assert (Job.objects.count(), Agent.objects.count()) == (jobs_before, agents_before)


def test_a_bundle_of_another_format_version_is_refused(tenant, manager):
    data, checksum = bundle_encode({"formatVersion": 99, "agents": [{"id": "a"}]})
    response = import_(manager, "acme", {"data": data, "checksum": checksum})
    assert response.status_code == 400
    assert "format version 99 is not supported" in response.body["message"]
    assert not Job.objects.exists()


def test_respond_async_answers_202_at_once_and_the_job_finishes_in_the_background(worker, tenant, manager):
    catalogue = seed_catalogue(tenant=tenant, agents=1)

    response = export(manager, "acme", catalogue.agents, HTTP_PREFER="respond-async")

    assert response.status_code == 202
    job_id = response.body["jobId"]
    assert response["Location"] == f"/ai-service/acme/jobs/{job_id}"
    assert response["Preference-Applied"] == "respond-async"
    done = wait_for(lambda: job_of(manager, "acme", job_id)["status"] != "in_progress", what="the export")
    assert done
    assert job_of(manager, "acme", job_id)["exportResult"]["checksum"]


def test_a_wait_that_runs_out_answers_202_with_the_job_in_progress(tenant, manager, monkeypatch):
    catalogue = seed_catalogue(tenant=tenant, agents=1)
    # No worker takes the job (the queue is long): the wait runs out with the job in progress. A worker left running
    # by the module's other tests must not run it either, or emptying the tables after the test would wait for its
    # locks while it waits for theirs (a deadlock PostgreSQL ends by failing one of the two).
    monkeypatch.setattr(tasks.job_run, "apply_async", lambda *args, **kwargs: None)

    response = export(manager, "acme", catalogue.agents, HTTP_PREFER="wait=0")

    assert response.status_code == 202
    assert "Preference-Applied" not in response
    assert job_of(manager, "acme", response.body["jobId"])["status"] == "in_progress"


def test_a_job_the_broker_could_not_take_is_sent_again_by_the_sweep(worker, tenant, manager, monkeypatch):
    catalogue = seed_catalogue(tenant=tenant, agents=1)
    with monkeypatch.context() as broken:
        broken.setattr(tasks.job_run, "apply_async", _broker_down)
        response = export(manager, "acme", catalogue.agents, HTTP_PREFER="respond-async")
    job = Job.objects.get(job_id=response.body["jobId"])
    assert job.dispatched_at is None and job.status == "in_progress"

    Job.objects.filter(pk=job.pk).update(created_at=job.created_at.replace(year=job.created_at.year - 1))
    with override_settings(JOB_DISPATCH_DEADLINE_SECONDS=10**9):
        assert services.jobs_sweep()["resent"] == 1
        wait_for(lambda: Job.objects.get(pk=job.pk).status == "success", what="the resent export")


def test_a_job_the_broker_never_took_fails_after_the_deadline_saying_why(tenant, manager, monkeypatch):
    catalogue = seed_catalogue(tenant=tenant, agents=1)
    monkeypatch.setattr(tasks.job_run, "apply_async", _broker_down)
    response = export(manager, "acme", catalogue.agents, HTTP_PREFER="respond-async")
    Job.objects.update(created_at=Job.objects.get().created_at.replace(year=2000))

    with override_settings(JOB_DISPATCH_DEADLINE_SECONDS=60):
        assert services.jobs_sweep()["failed_undeliverable"] == 1

    job = job_of(manager, "acme", response.body["jobId"])
    assert job["status"] == "failure"
    assert "message broker" in job["message"]


def test_the_scheduled_sweep_reaps_a_job_stuck_in_progress(worker, tenant, manager):
    job = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["gone"]})
    long_ago = job.created_at.replace(year=2000)
    Job.objects.filter(pk=job.pk).update(dispatched_at=long_ago, started_at=long_ago, attempts=1)

    with override_settings(JOB_STUCK_AFTER_SECONDS=60):
        tasks.jobs_sweep.delay()
        wait_for(lambda: Job.objects.get(pk=job.pk).status == "failure", what="the reaper")

    reaped = job_of(manager, "acme", job.job_id)
    assert "no worker finished this job within 60 s" in reaped["message"]
    assert reaped["metadata"]["version"] == 2


def _broker_down(*args: Any, **kwargs: Any) -> None:
    raise ConnectionRefusedError("broker unreachable")

"""The console's catalogue pages: exporting selected agents as an export job."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.test import Client

from apps.accounts.models import ApiClient
from apps.agents.models import Agent, Kind
from apps.audit.models import AuditEvent
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.agents.conftest import (
    agent_body,
    create,
)
from tests.console.catalogue.helpers import (
    post_form,
)
from tests.console.catalogue_fixtures import (
    page,
)


def test_exporting_selected_agents_starts_an_export_job_for_exactly_them(
    world: ApiClient, manager_client: Client, tenant: Tenant, broker: mock.Mock, django_capture_on_commit_callbacks: Any
):
    create(tenant, Kind.AGENT, "other", agent_body("t1", name="Not selected"))

    with django_capture_on_commit_callbacks(execute=True):
        response = post_form(manager_client, "agents/export", {"agent_ids": ["helper", "a1", "helper"]})

    job = Job.objects.get(tenant=tenant)
    assert (job.type, job.payload) == (Job.Type.EXPORT, {"agentIds": ["helper", "a1"]})
    assert response.status_code == 302
    assert response["Location"] == f"/console/acme/jobs/{job.job_id}/"
    broker.assert_called_once_with(args=[job.pk], queue="celery", countdown=None, retry=False)
    event = AuditEvent.objects.get(action=AuditEvent.Action.AGENTS_EXPORT)
    assert (event.object_id, event.detail) == (job.job_id, {"agentIds": ["helper", "a1"]})


@pytest.mark.parametrize(
    "selected, problem",
    [
        ([], "Select the agents to export first."),
        (["a1", "ghost"], "No agents with ids ghost in this tenant."),
        (["tool1"], "No agents with ids tool1 in this tenant."),
    ],
)
def test_an_export_of_no_or_unknown_agents_starts_no_job(
    selected: list[str], problem: str, world: ApiClient, manager_client: Client, broker: mock.Mock
):
    response = manager_client.post(page("agents/export"), {"agent_ids": selected}, follow=True)

    assert response.redirect_chain == [("/console/acme/agents/", 302)]
    assert problem in [str(m) for m in response.context["messages"]]
    assert not Job.objects.exists() and not AuditEvent.objects.exists()
    broker.assert_not_called()


def test_an_export_of_more_agents_than_an_export_takes_starts_no_job(
    world: ApiClient, manager_client: Client, broker: mock.Mock, settings: Any
):
    settings.EXPORT_MAX_AGENTS = 1

    response = manager_client.post(page("agents/export"), {"agent_ids": ["a1", "helper"]}, follow=True)

    assert "An export takes at most 1 agents; 2 were selected." in [str(m) for m in response.context["messages"]]
    assert not Job.objects.exists()


def test_an_export_while_the_tenant_has_as_many_jobs_in_progress_as_it_may_says_to_try_again(
    world: ApiClient, manager_client: Client, tenant: Tenant, broker: mock.Mock, settings: Any
):
    settings.JOB_MAX_IN_PROGRESS_PER_TENANT = 1
    Job.objects.create(tenant=tenant, type=Job.Type.IMPORT, payload={"data": "", "checksum": ""})  # a real one

    response = manager_client.post(page("agents/export"), {"agent_ids": ["a1"]}, follow=True)

    assert response.redirect_chain == [("/console/acme/agents/", 302)]
    shown = [str(m) for m in response.context["messages"]]
    assert any("as many as it may have at once (JOB_MAX_IN_PROGRESS_PER_TENANT=1)" in m for m in shown), shown
    assert Job.objects.count() == 1
    broker.assert_not_called()


def test_an_export_of_another_tenants_agent_starts_no_job(world: ApiClient, manager_client: Client, broker: mock.Mock):
    Agent.objects.filter(tenant__name="acme", public_id="a1").delete()  # only globex has an a1 now

    manager_client.post(page("agents/export"), {"agent_ids": ["a1"]})

    assert not Job.objects.exists()

"""The console's catalogue pages: deleting a resource, and what happens to the resources that use it."""

from __future__ import annotations

from django.test import Client

from apps.accounts.models import ApiClient
from apps.agents.models import Agent, Kind, Reference, Tool
from apps.audit.models import AuditEvent
from apps.tenants.models import Tenant
from tests.agents.conftest import (
    stored,
)
from tests.console.catalogue.helpers import (
    post_form,
)
from tests.console.catalogue_fixtures import (
    html,
    page,
    page_errors,
    snapshot,
)


def test_deleting_an_unused_resource(world: ApiClient, manager_client: Client, tenant: Tenant):
    confirm = html(manager_client.get(page("agents/a1/delete")))
    assert "Nothing uses it" in confirm and 'name="force"' not in confirm

    response = post_form(manager_client, "agents/a1/delete", {})

    assert response.status_code == 302
    assert response["Location"] == "/console/acme/agents/"
    assert not Agent.objects.filter(tenant=tenant, public_id="a1").exists()
    assert not Reference.objects.filter(tenant=tenant, source_id="a1").exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.RESOURCE_DELETE)
    assert event.object_id == "a1" and event.detail == {"kind": "agent", "force": False, "detachedFrom": []}


def test_a_resource_in_use_lists_its_dependants_and_is_kept_without_force(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    confirm = html(manager_client.get(page("tools/tool1/delete")))
    assert 'href="/console/acme/agents/a1/"' in confirm and 'name="force"' in confirm
    before = snapshot()

    response = post_form(manager_client, "tools/tool1/delete", {})

    assert response.status_code == 409
    assert any("Not deleted: 1 other resource(s) use this tool" in e for e in page_errors(html(response)))
    assert 'href="/console/acme/agents/a1/"' in html(response)
    assert snapshot() == before


def test_force_detaches_a_resource_from_its_dependants_then_deletes_it(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    response = post_form(manager_client, "tools/tool1/delete", {"force": "on"})

    assert response.status_code == 302
    assert not Tool.objects.filter(tenant=tenant, public_id="tool1").exists()
    a1 = stored(tenant, Kind.AGENT, "a1")
    assert a1.body["nativeTools"] == [] and a1.version == 2
    event = AuditEvent.objects.get(action=AuditEvent.Action.RESOURCE_DELETE)
    assert event.detail == {"kind": "tool", "force": True, "detachedFrom": [{"kind": "agent", "id": "a1"}]}

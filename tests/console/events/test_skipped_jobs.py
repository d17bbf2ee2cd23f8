"""Agent runs a commerce event's filter did not start (`skipped`) in the console's job pages: the list filters on
the status, and the list, the detail and the dashboard show it with its own badge."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.agentic.events.services import event_receive
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.agentic.events.conftest import ORDER_CREATED, commerce_trigger, order_event, subscribe
from tests.console.jobs.helpers import BASE, ids_on, make

pytestmark = pytest.mark.django_db


@pytest.fixture
def skipped(tenant: Tenant) -> Job:
    euro_only = {"left": "payload.order.currency", "op": "$eq", "right": "EUR"}
    subscribe(tenant, "euro", commerce_trigger(ORDER_CREATED, euro_only))
    (job_id,) = event_receive(tenant=tenant, webhook_id="msg_1", body=order_event(currency="USD")).job_ids
    return Job.objects.get(job_id=job_id)


def test_the_status_filter_offers_skipped_and_lists_only_those_jobs(
    manager_client: Client, tenant: Tenant, skipped: Job
) -> None:
    make(tenant, job_id="chat-ok", status=Job.Status.SUCCESS)
    make(tenant, job_id="chat-bad", status=Job.Status.FAILURE)

    everything = manager_client.get(f"{BASE}/jobs/")
    response = manager_client.get(f"{BASE}/jobs/?status=skipped")

    assert '<option value="skipped">skipped</option>' in everything.content.decode()
    assert response.status_code == 200
    assert ids_on(response) == [skipped.job_id]
    assert '<span class="badge badge-skipped">skipped</span>' in response.content.decode()


def test_the_job_page_shows_the_status_and_why_the_run_was_skipped(manager_client: Client, skipped: Job) -> None:
    text = manager_client.get(f"{BASE}/jobs/{skipped.job_id}/").content.decode()

    assert '<span class="badge badge-skipped">skipped</span>' in text
    assert "payload.order.currency is &quot;USD&quot;, not &quot;EUR&quot;" in text
    assert ORDER_CREATED in text


def test_the_dashboard_counts_skipped_jobs_under_their_own_badge(manager_client: Client, skipped: Job) -> None:
    text = manager_client.get(f"{BASE}/").content.decode()

    assert '<span class="badge badge-skipped">skipped</span>' in text
    assert manager_client.get(f"{BASE}/counts.json").json()["byStatus"]["skipped"] == 1


def test_the_badge_has_a_style_of_its_own() -> None:
    from pathlib import Path

    css = (Path(__file__).resolve().parents[3] / "static" / "console" / "console.css").read_text()

    assert ".badge-skipped {" in css

"""A tenant's Queue page (/console/<tenant>/queue/): its managers see their own jobs waiting and running, nothing of
other tenants; the workers page stays the platform admins'."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.jobs.models import Job
from apps.ops import workers
from apps.ops.selectors import tenant_queue
from apps.tenants.models import Tenant

QUEUE = "/console/acme/queue/"


@pytest.fixture
def jobs(make_job: Any, other_tenant: Tenant) -> None:
    """acme: two waiting (the oldest for 7 minutes), one running, one finished; globex: five waiting."""
    old = make_job(status="in_progress")
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=7, seconds=5))
    make_job(status="in_progress")
    make_job(status="in_progress", started_at=timezone.now())
    make_job(status="success", finished_at=timezone.now())
    for _ in range(5):
        make_job(tenant=other_tenant, status="in_progress")


def card(text: str, name: str) -> str:
    return text.split(f'data-queue="{name}"', 1)[1].split("</div>\n  </div>", 1)[0]


def test_a_manager_sees_the_queue_of_the_tenants_own_jobs(manager_client: Client, jobs: None) -> None:
    response = manager_client.get(QUEUE)

    assert response.status_code == 200
    text = response.content.decode()
    assert '<div class="n">2</div>' in card(text, "waiting")
    assert "the oldest for 7 min " in card(text, "waiting")
    assert '<div class="n">1</div>' in card(text, "running")


def test_a_platform_admin_sees_any_tenants_queue(platform_admin_client: Client, jobs: None) -> None:
    assert platform_admin_client.get(QUEUE).status_code == 200
    assert '<div class="n">5</div>' in platform_admin_client.get("/console/globex/queue/").content.decode()


@pytest.mark.parametrize("persona, status", [("viewer", 403), ("outsider", 404)])
def test_viewers_are_refused_and_outsiders_find_nothing(persona: str, status: int, client_as: Any, jobs: None) -> None:
    assert client_as(persona).get(QUEUE).status_code == status


def test_an_anonymous_visitor_is_sent_to_sign_in(anonymous_client: Client, tenant: Tenant) -> None:
    response = anonymous_client.get(QUEUE)

    assert response.status_code == 302 and response["Location"].startswith("/console/login/")


def test_managers_have_a_nav_link_to_the_queue_and_viewers_none(
    manager_client: Client, viewer_client: Client, tenant: Tenant
) -> None:
    assert 'href="/console/acme/queue/"' in manager_client.get("/console/acme/").content.decode()
    assert "/queue/" not in viewer_client.get("/console/acme/").content.decode()


def test_the_workers_page_refuses_a_manager_and_points_to_the_queue(manager_client: Client, tenant: Tenant) -> None:
    response = manager_client.get("/console/workers/")

    assert response.status_code == 403
    assert "Queue page" in response.content.decode()


def test_the_queue_is_one_query(jobs: None, tenant: Tenant, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        queue = tenant_queue(tenant=tenant)

    assert (queue.waiting, queue.running) == (2, 1)
    assert queue.oldest_waiting_created_at is not None


def test_many_page_loads_within_a_few_seconds_count_the_queue_once(
    manager_client: Client, jobs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "last_seen", lambda: None)
    counted: list[int] = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            assert manager_client.get(QUEUE).status_code == 200
        counted.append(sum('"jobs_job"' in query["sql"] and "COUNT(" in query["sql"] for query in queries))

    assert counted[0] >= 1 and counted[1:] == [0, 0]

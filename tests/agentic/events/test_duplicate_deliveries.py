"""Two deliveries of the same webhook-id at the same moment (senders retry on a timeout while the first is still
being handled): one set of jobs, and both answers name it. Real threads on real connections, so the unique
constraint and the transactions do the work, not the test."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from apps.agentic.events import selectors
from apps.agentic.events.services import event_secret_get
from apps.agentic.models import EventDelivery
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.agentic.events.conftest import ORDER_CREATED, Sender, commerce_trigger, order_event, subscribe
from tests.agents.conftest import document

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dispatched(monkeypatch: Any) -> list[int]:
    """The jobs handed to the broker (recorded, not sent: no worker runs here)."""
    sent: list[int] = []
    monkeypatch.setattr("apps.jobs.services.job_dispatch", lambda **kwargs: sent.append(kwargs["job_pk"]))
    return sent


@pytest.fixture
def both_past_the_first_look(monkeypatch: Any) -> Iterator[threading.Barrier]:
    """Holds each delivery after it found no earlier one, until the other has looked too: both then try to record
    the same webhook-id, which is the race."""
    barrier = threading.Barrier(2, timeout=10)
    looked = threading.local()
    real = selectors.delivery_get

    def delivery_get(**kwargs: Any) -> EventDelivery | None:
        found = real(**kwargs)
        if not getattr(looked, "once", False):
            looked.once = True
            barrier.wait()
        return found

    monkeypatch.setattr(selectors, "delivery_get", delivery_get)
    yield barrier


def deliver_at_once(sender: Sender, event: dict[str, Any], webhook_id: str, copies: int) -> list[Any]:
    answers: list[Any] = [None] * copies
    failures: list[str] = []

    def deliver(i: int) -> None:
        try:
            # A client of its own: a test client is not shared between threads.
            answers[i] = Sender(sender.secret, sender.tenant).post(event, webhook_id=webhook_id)
        except BaseException:
            failures.append(traceback.format_exc())
        finally:
            connection.close()

    document()  # the OpenAPI document the answers are checked against, built before the threads need it
    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, "\n".join(failures)
    return answers


@pytest.mark.usefixtures("both_past_the_first_look")
def test_two_identical_deliveries_at_once_make_one_set_of_jobs(tenant: Tenant, dispatched: list[int]) -> None:
    subscribe(tenant, "notifier", commerce_trigger(ORDER_CREATED))
    subscribe(tenant, "fraudcheck", commerce_trigger(ORDER_CREATED))
    sender = Sender(event_secret_get(tenant=tenant))

    first, second = deliver_at_once(sender, order_event(), "msg_twice", copies=2)

    assert first.status_code == second.status_code == 202, (first.body, second.body)
    jobs = list(Job.objects.filter(tenant=tenant).order_by("created_at", "id"))
    assert len(jobs) == 2
    assert first.body == second.body == {"jobIds": [job.job_id for job in jobs]}
    assert EventDelivery.objects.filter(tenant=tenant, webhook_id="msg_twice").count() == 1
    assert sorted(dispatched) == sorted(job.pk for job in jobs)  # the losing delivery handed nothing to a worker


def test_many_identical_deliveries_at_once_make_one_set_of_jobs(tenant: Tenant, dispatched: list[int]) -> None:
    subscribe(tenant, "notifier", commerce_trigger(ORDER_CREATED))
    sender = Sender(event_secret_get(tenant=tenant))

    answers = deliver_at_once(sender, order_event(), "msg_storm", copies=6)

    (job,) = Job.objects.filter(tenant=tenant)
    assert [answer.status_code for answer in answers] == [202] * 6
    assert all(answer.body == {"jobIds": [job.job_id]} for answer in answers)
    assert dispatched == [job.pk]

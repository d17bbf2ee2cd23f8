"""The workers page (/console/workers/) and the banner every console page shows while jobs wait for a worker."""

from __future__ import annotations

import re
import socket
import time
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.jobs.models import Job
from apps.ops import context, workers
from apps.ops.selectors import finished_since, job_throughput, waiting_jobs
from apps.tenants.models import Tenant
from tests.worker import WorkerProcess, wait_for

PAGE = "/console/workers/"


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The workers are "asked" without a broadcast: records each round of questions, and nobody answers."""
    rounds: list[int] = []

    def ask() -> list[workers.Worker]:
        rounds.append(1)
        return []

    monkeypatch.setattr(workers, "ask_workers", ask)
    return rounds


# --- who may see it ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["manager", "viewer", "outsider"])
def test_members_of_a_tenant_are_refused_the_workers_page(persona: str, client_as: Any, tenant: Tenant) -> None:
    assert client_as(persona).get(PAGE).status_code == 403


def test_an_anonymous_visitor_is_sent_to_sign_in(anonymous_client: Client) -> None:
    response = anonymous_client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")


def test_a_platform_admin_sees_the_page_and_the_nav_link(platform_admin_client: Client, asked: list[int]) -> None:
    response = platform_admin_client.get(PAGE)

    assert response.status_code == 200
    assert 'href="/console/workers/"' in response.content.decode()
    assert "No worker answered" in response.content.decode()


def test_tenant_members_get_no_nav_link_to_it(manager_client: Client, tenant: Tenant) -> None:
    assert 'href="/console/workers/"' not in manager_client.get("/console/acme/").content.decode()


def test_workers_is_a_reserved_tenant_name(db: Any) -> None:
    from django.core.exceptions import ValidationError

    from apps.tenants.services import tenant_create

    with pytest.raises(ValidationError):
        tenant_create(name="workers")


# --- what it shows ---------------------------------------------------------------------------------------------------


def test_many_page_loads_within_a_few_seconds_ask_the_workers_once(
    platform_admin_client: Client, asked: list[int]
) -> None:
    for _ in range(3):
        assert platform_admin_client.get(PAGE).status_code == 200

    assert asked == [1]


def test_many_page_loads_within_a_few_seconds_read_the_job_table_once(
    platform_admin_client: Client, asked: list[int], make_job: Any
) -> None:
    make_job(status="success", finished_at=timezone.now())
    job_queries: list[int] = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            assert platform_admin_client.get(PAGE).status_code == 200
        job_queries.append(sum('"jobs_job"' in query["sql"] for query in queries))

    assert job_queries[0] >= 2  # the waiting jobs and the throughput
    assert job_queries[1:] == [0, 0]


def test_a_workers_last_heartbeat_is_shown_from_what_it_recorded(
    platform_admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "ping_workers", lambda: ["celery@beating", "celery@silent"])
    monkeypatch.setattr(workers.app.control, "inspect", lambda **kwargs: SilentInspect())
    workers.record_heartbeat("celery@beating")
    cache.set(workers.HEARTBEAT_KEY + "celery@beating", time.time() - 3, timeout=60)

    text = platform_admin_client.get(PAGE).content.decode()

    beating = text.split("celery@beating", 1)[1].split("</tr>", 1)[0]
    silent = text.split("celery@silent", 1)[1].split("</tr>", 1)[0]
    assert '<td class="heartbeat">3 s ago</td>' in beating or '<td class="heartbeat">4 s ago</td>' in beating
    assert "none received" in silent


def test_a_heartbeat_counts_as_a_worker_seen_for_the_banner(db: Any) -> None:
    assert workers.last_seen() is None

    workers.record_heartbeat("celery@host")

    seen = workers.last_seen()
    assert seen is not None and time.time() - seen < 2


class SilentInspect:
    """Celery's inspect, answered by nobody: workers known only by their ping."""

    def stats(self) -> None:
        return None

    def active(self) -> None:
        return None

    def active_queues(self) -> None:
        return None


def test_the_page_shows_jobs_finished_per_type_with_their_failure_rate(
    platform_admin_client: Client, asked: list[int], make_job: Any
) -> None:
    now = timezone.now()
    for status in ("success", "success", "success", "failure"):
        make_job(type=Job.Type.EXPORT, status=status, finished_at=now - timedelta(minutes=5))
    make_job(type=Job.Type.IMPORT, status="success", finished_at=now - timedelta(hours=2))  # outside the hour

    text = platform_admin_client.get(PAGE).content.decode()

    assert "<th>EXPORT</th>\n      <td>4</td>" in text
    assert "25 %" in text
    assert "IMPORT" not in text.split("Jobs finished in the last hour")[1]


def test_throughput_is_one_query_grouped_by_type(make_job: Any, django_assert_num_queries: Any) -> None:
    now = timezone.now()
    make_job(type=Job.Type.EXPORT, status="failure", finished_at=now)
    make_job(type=Job.Type.IMPORT, status="success", finished_at=now)
    make_job(type=Job.Type.IMPORT, status="skipped", finished_at=now)

    with django_assert_num_queries(1):
        rows = {row.type: row for row in job_throughput(now=now)}

    assert rows["EXPORT"].failure_rate == 1.0 and rows["EXPORT"].finished == 1
    assert rows["IMPORT"].failure_rate == 0.0 and rows["IMPORT"].finished == 2
    assert rows["IMPORT"].per_minute == pytest.approx(2 / 60)


def test_the_throughput_query_can_read_the_last_hour_from_the_finished_index(db: Any) -> None:
    query = finished_since(timezone.now() - timedelta(hours=1))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A test table is tiny, and a scan of it cheaper than any index: ask whether the index can serve at all.
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = query.explain()

    assert "jobs_finished" in plan


def test_the_oldest_waiting_job_is_the_oldest_not_yet_started(make_job: Any) -> None:
    old = make_job(status="in_progress")
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=7))
    make_job(status="in_progress")
    make_job(status="in_progress", started_at=timezone.now())  # a worker has it
    make_job(status="success")

    waiting = waiting_jobs()

    assert waiting.count == 2
    assert waiting.oldest_created_at is not None
    assert timezone.now() - waiting.oldest_created_at >= timedelta(minutes=7)


def test_queue_depth_counts_every_priority_of_a_queue_in_redis(settings: Any) -> None:
    settings.CELERY_TASK_QUEUES = {"ops-test-one": {}, "ops-test-two": {}}
    # The suite's broker when it is Redis; otherwise (a clone run with the file broker) the machine's Redis.
    if not str(settings.CELERY_BROKER_URL).startswith("redis://"):
        settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        client.rpush("ops-test-one", "a", "b")
        client.rpush("ops-test-one\x06\x169", "c")

        depths = {queue.name: queue.waiting for queue in workers.queue_depths()}
    finally:
        client.delete("ops-test-one", "ops-test-one\x06\x169")

    assert depths == {"ops-test-one": 3, "ops-test-two": 0}


def test_queue_depth_is_unknown_with_the_file_broker(settings: Any) -> None:
    settings.CELERY_BROKER_URL = "filesystem://"

    assert {queue.waiting for queue in workers.queue_depths()} == {None}


# --- the banner ------------------------------------------------------------------------------------------------------


def test_no_banner_and_no_question_to_the_workers_while_no_job_waits(
    manager_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never() -> list[str]:
        raise AssertionError("the workers were asked although no job waits")

    monkeypatch.setattr(workers, "ping_workers", never)

    assert "missing-workers" not in manager_client.get("/console/acme/").content.decode()


def test_no_banner_and_no_question_to_the_workers_while_one_answered_recently(
    manager_client: Client, make_job: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never() -> list[str]:
        raise AssertionError("the workers were asked although one answered moments ago")

    job = make_job(status="in_progress")
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    cache.set(workers.LAST_SEEN_KEY, time.time() - 5, timeout=None)
    monkeypatch.setattr(workers, "ping_workers", never)

    assert "missing-workers" not in manager_client.get("/console/acme/").content.decode()


def test_no_banner_while_the_waiting_jobs_are_younger_than_the_threshold(
    manager_client: Client, make_job: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never() -> list[str]:
        raise AssertionError("the workers were asked about a job that has just arrived")

    make_job(status="in_progress")
    monkeypatch.setattr(workers, "ping_workers", never)

    assert "missing-workers" not in manager_client.get("/console/acme/").content.decode()


def test_the_banner_shows_when_jobs_wait_and_no_worker_ever_answered(
    manager_client: Client, make_job: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "ping_workers", list)
    job = make_job(status="in_progress")
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=61))

    text = manager_client.get("/console/acme/").content.decode()

    assert 'id="missing-workers"' in text
    assert "1 job waiting, and no worker has answered\n    yet" in text


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_is_listed_and_once_it_stops_waiting_jobs_raise_the_banner(
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    platform_admin_client: Client,
    manager_client: Client,
    make_job: Any,
) -> None:
    monkeypatch.setattr(context, "WAITING_SECONDS", 0)
    monkeypatch.setattr(context, "PROBE_EVERY_SECONDS", 0)
    monkeypatch.setattr(workers, "OVERVIEW_SECONDS", 0)
    make_job(status="in_progress")  # no task was sent: it waits whatever the worker does
    worker = WorkerProcess(heartbeat=True)
    try:
        worker.wait_ready()
        hostname = f"celery@{socket.gethostname()}"
        wait_for(lambda: cache.get(workers.HEARTBEAT_KEY + hostname), what="the worker's first heartbeat")
        listed = platform_admin_client.get(PAGE).content.decode()
        while_running = manager_client.get("/console/acme/").content.decode()
    finally:
        worker.stop()
    settings.WORKER_MISSING_AFTER_SECONDS = 1
    time.sleep(1.2)
    seen = workers.last_seen()

    after = manager_client.get("/console/acme/").content.decode()
    admin_after = platform_admin_client.get(PAGE).content.decode()

    assert hostname in listed
    assert re.search(r'<td class="heartbeat">\d s ago</td>', listed)
    assert seen is not None and time.time() - seen > 1  # no heartbeat after it stopped
    assert '<span class="badge">agents</span> <span class="badge">celery</span>' in listed
    assert "missing-workers" not in while_running
    assert 'id="missing-workers"' in after and "no worker has answered\n    for " in after
    assert 'id="missing-workers"' in admin_after and "No worker answered" in admin_after


def test_with_the_broker_down_the_page_says_so_at_once_instead_of_hanging(
    platform_admin_client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        closed = listener.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed}/0"

    def never(**kwargs: Any) -> list[Any]:
        raise AssertionError("a broadcast was sent to a broker that does not answer")

    monkeypatch.setattr(workers.app.control, "ping", never)
    started = time.monotonic()
    response = platform_admin_client.get(PAGE)

    assert response.status_code == 200
    assert 'id="broker-down"' in response.content.decode()
    assert "unknown" in response.content.decode()  # the queues' depth
    assert time.monotonic() - started < 5


def test_a_page_still_answers_when_the_banner_cannot_read_the_cache(
    manager_client: Client, make_job: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    make_job(status="in_progress")
    monkeypatch.setattr(workers, "last_seen", down)

    response = manager_client.get("/console/acme/")

    assert response.status_code == 200
    assert "missing-workers" not in response.content.decode()

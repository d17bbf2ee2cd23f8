"""GET /metrics: what Prometheus reads after API calls and jobs, who may read it, and the worker's own port.

Counters are kept in files shared by every process of the run (multiprocess mode), so each test compares a scrape
before and after what it does rather than absolute values."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory
from prometheus_client.parser import text_string_to_metric_families

from apps.accounts.services import IssuedClient
from apps.accounts.throttling import sign_in_locked_out
from apps.jobs.errors import TooManyJobsInProgress
from apps.jobs.models import Job
from apps.jobs.runners import job_execute
from apps.jobs.services import job_create
from apps.ops import metrics, workers
from apps.ops.middleware import route_of
from apps.tenants.models import Tenant
from config import celery
from tests.conftest import READ, ApiClientForTests
from tests.ops.test_health import free_port

ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

JOBS_ROUTE = "/ai-service/<str:tenant>/jobs"
JOB_ROUTE = "/ai-service/<str:tenant>/jobs/<opaque_id:job_id>"


def scrape(client: Client | None = None, **extra: Any) -> Samples:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return parse(response.content.decode())


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def label_values(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(labels)[label] for sample_name, labels in samples if sample_name == name and label in dict(labels)}


@pytest.fixture
def quiet_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """One worker answers and the queues hold known counts, without a round of pings through the broker."""
    worker = workers.Worker("celery@host-1", ["celery"], 2, 0, 60, 0.0)
    monkeypatch.setattr(workers, "ask_workers", lambda: [worker])
    monkeypatch.setattr(
        workers, "queue_depths", lambda: [workers.QueueDepth("celery", 3), workers.QueueDepth("agents", None)]
    )


# --- web requests ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_calls_are_counted_and_timed_per_route_method_and_status_class(
    manager: ApiClientForTests, quiet_workers: None
) -> None:
    before = scrape()

    assert manager.get("/ai-service/acme/jobs").status_code == 200
    assert manager.get("/ai-service/acme/jobs").status_code == 200
    assert manager.get("/ai-service/acme/jobs/0123456789abcdef01234567").status_code == 404
    after = scrape()

    ok = {"route": JOBS_ROUTE, "method": "GET", "status": "2xx"}
    missing = {"route": JOB_ROUTE, "method": "GET", "status": "4xx"}
    assert value(after, "aic_http_requests_total", **ok) - value(before, "aic_http_requests_total", **ok) == 2
    assert value(after, "aic_http_requests_total", **missing) - value(before, "aic_http_requests_total", **missing) == 1
    duration = "aic_http_request_duration_seconds"
    assert value(after, f"{duration}_count", **ok) - value(before, f"{duration}_count", **ok) == 2
    assert (
        value(after, f"{duration}_bucket", **ok, le="+Inf") - value(before, f"{duration}_bucket", **ok, le="+Inf") == 2
    )
    assert value(after, f"{duration}_sum", **ok) > value(before, f"{duration}_sum", **ok)
    # Routes are the URL patterns: neither the tenant's name nor a job's id ever becomes a label.
    routes = label_values(after, "aic_http_requests_total", "route")
    assert {JOBS_ROUTE, JOB_ROUTE} <= routes
    assert not [route for route in routes if "acme" in route or "0123456789abcdef" in route]


def test_requests_no_pattern_matched_and_static_files_get_fixed_route_names() -> None:
    factory = RequestFactory()

    assert route_of(factory.get("/no/such/page/42")) == "unmatched"
    assert route_of(factory.get("/static/console/app.css")) == "static"


@pytest.mark.django_db
def test_a_method_outside_http_s_own_list_is_counted_as_other(quiet_workers: None) -> None:
    labels = {"route": "unmatched", "method": "other", "status": "4xx"}
    before = value(scrape(), "aic_http_requests_total", **labels)

    Client().generic("BREW", "/no/such/pot")

    assert value(scrape(), "aic_http_requests_total", **labels) - before == 1


# --- jobs, queues, workers -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_jobs_are_reported_by_type_and_status_from_the_database_with_every_pair_listed(
    make_job: Callable[..., Job], quiet_workers: None
) -> None:
    make_job(type=Job.Type.EXPORT, status=Job.Status.SUCCESS)
    make_job(type=Job.Type.EXPORT, status=Job.Status.SUCCESS)
    make_job(type=Job.Type.IMPORT, status=Job.Status.FAILURE)
    make_job(type=Job.Type.AGENT_CHAT)  # in progress, not started by any worker

    samples = scrape()

    assert value(samples, "aic_jobs", type="EXPORT", status="success") == 2
    assert value(samples, "aic_jobs", type="IMPORT", status="failure") == 1
    assert value(samples, "aic_jobs", type="AGENT_CHAT", status="in_progress") == 1
    assert ("aic_jobs", frozenset({"type": "IMPORT", "status": "skipped"}.items())) in samples  # listed as 0
    assert len([name for name, _ in samples if name == "aic_jobs"]) == len(Job.Type) * len(Job.Status)
    assert value(samples, "aic_jobs_waiting") == 1
    assert value(samples, "aic_oldest_waiting_job_age_seconds") >= 0


@pytest.mark.django_db
def test_queue_depth_workers_alive_and_the_broker_come_from_the_workers_snapshot(quiet_workers: None) -> None:
    samples = scrape()

    assert value(samples, "aic_workers_alive") == 1
    assert value(samples, "aic_broker_up") == 1
    assert value(samples, "aic_queue_depth", queue="celery") == 3
    # The broker could not count this queue: no sample, rather than a 0 that reads as "empty".
    assert ("aic_queue_depth", frozenset({"queue": "agents"}.items())) not in samples


@pytest.mark.django_db
def test_a_scrape_within_seconds_of_another_asks_neither_the_database_nor_the_workers(
    make_job: Callable[..., Job], quiet_workers: None, django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scrape()
    make_job(type=Job.Type.EXPORT, status=Job.Status.SUCCESS)
    monkeypatch.setattr(workers, "ask_workers", lambda: pytest.fail("the workers were asked again"))

    with django_assert_num_queries(0):
        samples = scrape()

    assert value(samples, "aic_jobs", type="EXPORT", status="success") == 0  # the count of the first scrape


@pytest.mark.django_db
def test_a_database_that_does_not_answer_leaves_out_the_job_gauges_only(
    quiet_workers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    def down() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(metrics, "job_counts", down)

    samples = scrape()

    assert not [name for name, _ in samples if name == "aic_jobs"]
    assert value(samples, "aic_workers_alive") == 1


# --- token endpoint and rate limits ----------------------------------------------------------------------------------


def _token(client_id: str, secret: str, grant_type: str = "client_credentials") -> int:
    body = {"grant_type": grant_type, "client_id": client_id, "client_secret": secret}
    return int(Client(REMOTE_ADDR="192.0.2.1").post("/oauth/token", body).status_code)


@pytest.mark.django_db
def test_token_requests_are_counted_as_issued_or_refused_by_reason(
    tenant: Tenant, issue_client: Callable[..., IssuedClient], settings: Any, quiet_workers: None
) -> None:
    settings.OAUTH_TOKEN_RATE_PER_CLIENT = "4/m"
    issued = issue_client(tenant, READ)
    client_id = issued.client.client_id
    before = scrape()

    statuses = [
        _token(client_id, issued.client_secret),
        _token(client_id, "wrong"),
        _token(client_id, issued.client_secret, grant_type="password"),
        _token(client_id, issued.client_secret),
        _token(client_id, issued.client_secret),  # the fifth of this client within a minute
    ]
    after = scrape()

    assert statuses == [200, 401, 400, 200, 429]

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("aic_oauth_token_requests_total", outcome="issued", reason="none") == 2
    assert delta("aic_oauth_token_requests_total", outcome="refused", reason="invalid_client") == 1
    assert delta("aic_oauth_token_requests_total", outcome="refused", reason="unsupported_grant_type") == 1
    assert delta("aic_oauth_token_requests_total", outcome="refused", reason="rate_limited") == 1
    assert delta("aic_rate_limit_refusals_total", limit="oauth_token_client") == 1


@pytest.mark.django_db
def test_sign_in_lockouts_and_tenants_at_their_job_limit_count_as_rate_limit_refusals(
    tenant: Tenant, settings: Any, quiet_workers: None
) -> None:
    settings.JOB_MAX_IN_PROGRESS_PER_TENANT = 1
    job_create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a1"]})
    request = RequestFactory().get("/admin/login/")
    request.user = AnonymousUser()
    before = scrape()

    assert sign_in_locked_out(request).status_code == 429
    with pytest.raises(TooManyJobsInProgress):
        job_create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["a1"]})
    after = scrape()

    for limit in ("sign_in", "jobs_in_progress"):
        name = "aic_rate_limit_refusals_total"
        assert value(after, name, limit=limit) - value(before, name, limit=limit) == 1, limit


# --- worker task metrics ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_job_run_by_the_runner_counts_its_outcome_and_times_it(tenant: Tenant, quiet_workers: None) -> None:
    from apps.agents.seeding import seed_catalogue

    catalogue = seed_catalogue(tenant=tenant, agents=1, tools_per_agent=0, servers_per_agent=0)
    exported = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": catalogue.agents})
    nothing_left = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["gone"]})
    before = scrape()

    job_execute(job_pk=exported.pk)
    job_execute(job_pk=nothing_left.pk)
    job_execute(job_pk=exported.pk)  # a repeated delivery: the job is finished
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("aic_job_runs_total", type="EXPORT", outcome="success") == 1
    assert delta("aic_job_runs_total", type="EXPORT", outcome="failure") == 1
    assert delta("aic_job_runs_total", type="EXPORT", outcome="not_run") == 1
    assert delta("aic_job_duration_seconds_count", type="EXPORT", outcome="success") == 1
    assert delta("aic_job_duration_seconds_bucket", type="EXPORT", outcome="success", le="600.0") == 1
    assert delta("aic_job_duration_seconds_sum", type="EXPORT", outcome="success") > 0
    # A delivery that ran nothing has no duration.
    assert delta("aic_job_duration_seconds_count", type="EXPORT", outcome="not_run") == 0


@pytest.mark.django_db
def test_what_another_process_counted_is_in_the_scrape_whichever_process_answers(quiet_workers: None) -> None:
    labels = {"limit": "sign_in"}
    before = value(scrape(), "aic_rate_limit_refusals_total", **labels)
    code = (
        "from apps.core.metrics import rate_limit_refused; rate_limit_refused('sign_in'); rate_limit_refused('sign_in')"
    )

    # The child inherits PROMETHEUS_MULTIPROC_DIR, as gunicorn's and Celery's processes do.
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy(), cwd=ROOT, timeout=60)

    assert value(scrape(), "aic_rate_limit_refusals_total", **labels) - before == 2


@pytest.fixture
def worker_port() -> Iterator[int]:
    port = free_port()
    server = metrics.serve_worker_metrics(port, host="127.0.0.1")
    assert server is not None
    yield port
    server.shutdown()
    server.server_close()


def _get(port: int, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310  # a loopback URL of this test
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


@pytest.mark.django_db
def test_the_worker_port_serves_the_task_metrics_behind_the_same_access_rule(
    worker_port: int, tenant: Tenant, settings: Any
) -> None:
    job = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": ["gone"]})
    job_execute(job_pk=job.pk)

    status, text = _get(worker_port)
    assert status == 200
    assert value(parse(text), "aic_job_runs_total", type="EXPORT", outcome="failure") >= 1
    assert "aic_jobs{" not in text  # the installation's gauges are the web's

    settings.METRICS_TOKEN = "scrape-secret"
    assert _get(worker_port)[0] == 401
    assert _get(worker_port, "wrong")[0] == 401
    assert _get(worker_port, "scrape-secret")[0] == 200


def test_a_taken_worker_port_leaves_the_worker_running_without_it(worker_port: int) -> None:
    assert metrics.serve_worker_metrics(worker_port, host="127.0.0.1") is None


def test_the_worker_serves_its_port_only_when_one_is_set(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[int] = []
    monkeypatch.setattr(metrics, "serve_worker_metrics", served.append)

    settings.WORKER_METRICS_PORT = 0
    celery._serve_metrics()
    settings.WORKER_METRICS_PORT = 9808
    celery._serve_metrics()

    assert served == [9808]


# --- access ----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_token_only_loopback_clients_may_read(quiet_workers: None) -> None:
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert Client(REMOTE_ADDR=address).get("/metrics").status_code == 200, address
    for address in ("10.1.2.3", "192.0.2.1", "2001:db8::1", ""):
        response = Client(REMOTE_ADDR=address).get("/metrics")
        assert response.status_code == 403, address
        assert b"aic_" not in response.content


@pytest.mark.django_db
def test_with_a_token_any_address_must_send_it_as_a_bearer_token(settings: Any, quiet_workers: None) -> None:
    settings.METRICS_TOKEN = "scrape-secret"
    remote = Client(REMOTE_ADDR="10.1.2.3")

    for authorization in (None, "Bearer wrong", "Basic scrape-secret", "Bearer scrape-secret-and-more"):
        extra: dict[str, Any] = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
        response = remote.get("/metrics", **extra)
        assert response.status_code == 401, authorization
        assert response["WWW-Authenticate"].startswith("Bearer")
    # A token is asked for from loopback too: a proxy on this machine would make everyone look local.
    assert Client().get("/metrics").status_code == 401

    samples = scrape(remote, HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert value(samples, "aic_workers_alive") == 1


@pytest.mark.django_db
def test_metrics_answer_at_an_ip_address_and_are_never_cached(quiet_workers: None) -> None:
    # Prometheus scrapes a container by its address, which is not in ALLOWED_HOSTS.
    response = Client(HTTP_HOST="10.1.2.3:8000").get("/metrics")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert Client().post("/metrics").status_code == 405


# --- the Grafana dashboard -------------------------------------------------------------------------------------------


def exposed_names() -> set[str]:
    """Every sample name the product can expose: the recorded counters and histograms, and the scrape-time gauges."""
    from prometheus_client import Counter, Histogram

    from apps.core import metrics as recorded

    names: set[str] = set()
    for metric in vars(recorded).values():
        if isinstance(metric, Counter):
            names |= {f"{family.name}_total" for family in metric.describe()}
        elif isinstance(metric, Histogram):
            names |= {
                f"{family.name}_{suffix}" for family in metric.describe() for suffix in ("bucket", "count", "sum")
            }
    return names | {name for name, _ in scrape()}


@pytest.mark.django_db
def test_the_grafana_dashboard_is_built_on_the_metrics_the_product_exposes(quiet_workers: None) -> None:
    import json
    import re

    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", []) if target.get("expr")
    ]
    used = {name for expression in expressions for name in re.findall(r"\baic_[a-z0-9_]+", expression)}

    assert used and used <= exposed_names(), used - exposed_names()
    # What operators look for first: requests and latency per route, jobs, queues, workers, durations, tokens.
    for wanted in (
        "aic_http_requests_total",
        "aic_http_request_duration_seconds_bucket",
        "aic_jobs",
        "aic_queue_depth",
        "aic_workers_alive",
        "aic_job_duration_seconds_bucket",
        "aic_oauth_token_requests_total",
        "aic_rate_limit_refusals_total",
    ):
        assert wanted in used, wanted
    assert any("by (route" in expression and "histogram_quantile(0.95" in expression for expression in expressions)


# --- settings --------------------------------------------------------------------------------------------------------


def test_the_metrics_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.test_settings import load_base_settings

    folder = tmp_path / "metrics-of-this-machine"
    loaded = load_base_settings(
        monkeypatch,
        tmp_path,
        METRICS_TOKEN=" scrape-secret ",
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        WORKER_METRICS_PORT="9808",
    )

    assert (loaded["METRICS_TOKEN"], loaded["WORKER_METRICS_PORT"]) == ("scrape-secret", 9808)
    assert loaded["METRICS_DIR"] == folder and folder.is_dir()
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(folder)  # what prometheus-client itself reads


@pytest.mark.parametrize("raw", ["9808a", "70000"])
def test_a_worker_metrics_port_that_is_no_port_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, raw: str
) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from tests.test_settings import load_base_settings

    with pytest.raises(ImproperlyConfigured, match=r"^WORKER_METRICS_PORT="):
        load_base_settings(monkeypatch, tmp_path, WORKER_METRICS_PORT=raw)


def test_without_a_setting_the_metrics_are_off_limits_and_kept_under_the_var_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.test_settings import load_base_settings

    for name in ("METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR", "WORKER_METRICS_PORT"):
        monkeypatch.delenv(name, raising=False)
    loaded = load_base_settings(monkeypatch, tmp_path)

    assert (loaded["METRICS_TOKEN"], loaded["WORKER_METRICS_PORT"]) == ("", 0)
    assert loaded["METRICS_DIR"] == tmp_path / "metrics"

"""`GET /metrics` in Prometheus' format, and a Celery worker's own metrics port.

What is counted lives in apps.core.metrics; every process of this machine writes its counts into files in
settings.METRICS_DIR (prometheus-client's multiprocess mode), and a scrape adds up all the files, so the answer is the
same whichever gunicorn worker serves it. With `make run` the Celery workers share the folder, so the web's
/metrics carries their task metrics too; a worker on another machine serves them itself on WORKER_METRICS_PORT.

The web also reports, at scrape time, what the whole installation looks like: jobs by type and status (from the
database), jobs waiting for a worker, queue depths, workers alive and whether the broker answers. These are read
through caches of a few seconds (the workers page's own snapshot among them), so that several web processes and
Prometheus servers scraping at once cost one round of questions.

Access: with METRICS_TOKEN set, `Authorization: Bearer <token>` (compared in constant time), else 401; unset, only
loopback clients, else 403. A reverse proxy on the same machine makes every client look like loopback: set a token
there, or do not forward /metrics."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, make_server

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer, choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from apps.ops import workers
from apps.ops.checks import OK
from apps.ops.selectors import job_counts, waiting_jobs

logger = logging.getLogger(__name__)

# How long the database's answers are reused between scrapes (the workers' snapshot has its own, workers.py).
REFRESH_SECONDS = 5.0
JOBS_KEY = "ops:metrics:jobs"
WAITING_KEY = "ops:metrics:waiting"
# What a failed read of the database, the cache or the broker raises: that part is left out of the scrape (Prometheus
# then shows "no data"), and the rest is still answered.
UNAVAILABLE = (DatabaseError, redis.RedisError, OSError)

T = TypeVar("T")


# --- access --------------------------------------------------------------------------------------------------------


def access_refused(authorization: str, address: str) -> tuple[int, str] | None:
    """(status, reason) when this caller may not read the metrics; None when it may."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return 401, "Send Authorization: Bearer <METRICS_TOKEN>."
        return None
    if not is_loopback(address):
        return 403, "Metrics answer only this machine unless METRICS_TOKEN is set."
    return None


def is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    # An IPv4 client of a dual-stack socket arrives as ::ffff:127.0.0.1.
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback


# --- the web's /metrics ----------------------------------------------------------------------------------------------


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    refused = access_refused(request.META.get("HTTP_AUTHORIZATION", ""), request.META.get("REMOTE_ADDR", ""))
    if refused is not None:
        status, reason = refused
        response = HttpResponse(f"{reason}\n", status=status, content_type="text/plain; charset=utf-8")
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    else:
        encode, content_type = choose_encoder(request.META.get("HTTP_ACCEPT", ""))
        response = HttpResponse(encode(web_registry()), content_type=content_type)
    # A proxy that cached a scrape would repeat old counts.
    response["Cache-Control"] = "no-store"
    return response


def web_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(settings.METRICS_DIR))  # type: ignore[no-untyped-call]
    registry.register(InstallationCollector())
    return registry


class InstallationCollector(Collector):
    """Gauges computed at scrape time: they describe the installation, not one process."""

    def collect(self) -> Iterable[Metric]:
        yield from _part("jobs", _job_gauges)
        yield from _part("workers", _worker_gauges)


def _part(name: str, gauges: Callable[[], list[Metric]]) -> Iterator[Metric]:
    try:
        yield from gauges()
    except UNAVAILABLE as error:
        logger.warning("Metrics: the %s gauges are left out of this scrape (%s)", name, type(error).__name__)


def _job_gauges() -> list[Metric]:
    by_status = GaugeMetricFamily("aic_jobs", "Jobs in the database, by type and status.", labels=["type", "status"])
    for (job_type, status), count in sorted(_cached(JOBS_KEY, job_counts).items()):
        by_status.add_metric([job_type, status], count)
    waiting = _cached(WAITING_KEY, waiting_jobs)
    oldest = waiting.oldest_created_at
    age = (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0
    return [
        by_status,
        GaugeMetricFamily("aic_jobs_waiting", "Jobs no worker has started yet.", value=waiting.count),
        GaugeMetricFamily(
            "aic_oldest_waiting_job_age_seconds", "Age of the oldest job no worker has started (0: none).", value=age
        ),
    ]


def _worker_gauges() -> list[Metric]:
    snapshot = workers.workers_snapshot()
    depth = GaugeMetricFamily("aic_queue_depth", "Tasks waiting in the broker, by queue.", labels=["queue"])
    for queue in snapshot.queues:
        # The file broker cannot count one queue: no sample rather than a wrong 0.
        if queue.waiting is not None:
            depth.add_metric([queue.name], queue.waiting)
    return [
        depth,
        GaugeMetricFamily("aic_workers_alive", "Celery workers that answered a ping.", value=len(snapshot.workers)),
        GaugeMetricFamily("aic_broker_up", "1 when the broker answers, else 0.", value=int(snapshot.broker == OK)),
        GaugeMetricFamily(
            "aic_workers_snapshot_age_seconds",
            "How old the picture of the workers and queues above is.",
            value=max(0.0, time.time() - snapshot.taken_at),
        ),
    ]


def _cached(key: str, read: Callable[[], T]) -> T:
    found: T | None = cache.get(key)
    if found is None:
        found = read()
        cache.set(key, found, timeout=REFRESH_SECONDS)
    return found


# --- a worker's own port ---------------------------------------------------------------------------------------------


def worker_metrics_app() -> Callable[..., Iterable[bytes]]:
    """A WSGI app with the metrics of this machine's processes (the task metrics of a worker's pool), behind the same
    access rule as the web's /metrics."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(settings.METRICS_DIR))  # type: ignore[no-untyped-call]
    expose = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        refused = access_refused(environ.get("HTTP_AUTHORIZATION", ""), environ.get("REMOTE_ADDR", ""))
        if refused is None:
            return expose(environ, start_response)  # type: ignore[no-any-return]
        status, reason = refused
        headers = [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]
        if status == 401:
            headers.append(("WWW-Authenticate", 'Bearer realm="metrics"'))
        start_response(f"{status} {'Unauthorized' if status == 401 else 'Forbidden'}", headers)
        return [f"{reason}\n".encode()]

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        # One line per scrape every few seconds would drown the worker's own log.
        pass


def serve_worker_metrics(port: int, host: str = "0.0.0.0") -> ThreadingWSGIServer | None:  # noqa: S104
    """Serve this machine's metrics on `port` from a thread of the calling process (a worker's main process, which
    outlives its pool's children); every interface, since the scraper is usually elsewhere. None when the port is
    taken (a second worker on this machine): the worker runs on, and the first one's port serves both."""
    try:
        server = make_server(host, port, worker_metrics_app(), ThreadingWSGIServer, handler_class=_QuietHandler)
    except OSError as error:
        logger.warning("Worker metrics not served on port %s: %s", port, error)
        return None
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    logger.info("Worker metrics served on port %s", port)
    return server

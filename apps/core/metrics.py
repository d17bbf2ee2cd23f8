"""The product's Prometheus counters and histograms, in one place, so that every app can record and the dashboard
(docs/grafana-dashboard.json) has one list of names to follow. apps.ops exposes them at `/metrics`.

prometheus-client runs in multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set in config/settings/base.py): every
process writes its own values into files in that folder, and a scrape adds the files up. gunicorn's workers and
Celery's pool processes each count only what they served, and the sum does not depend on which process answers the
scrape. Gauges that describe the whole installation (jobs by status, queue depth, workers alive) are not kept here:
apps.ops computes them at scrape time, so no process's stale gauge file can outlive it.

Every label takes values from a short fixed list (routes from the URL patterns, methods, status classes, job types):
a label made from what a client sends would let anyone grow the metrics without bound."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "aic_http_requests",
    "HTTP requests answered, by route (the URL pattern), method and status class.",
    ["route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "aic_http_request_duration_seconds",
    "Time to answer an HTTP request (until the response is made; a streamed body may take longer to send).",
    ["route", "method", "status"],
)

TOKEN_REQUESTS = Counter(
    "aic_oauth_token_requests",
    "POST /oauth/token: tokens issued (reason none) and requests refused, by the OAuth2 error or rate_limited.",
    ["outcome", "reason"],
)
RATE_LIMIT_REFUSALS = Counter(
    "aic_rate_limit_refusals",
    "Requests refused with 429 by a limit: oauth_token_address, oauth_token_client, sign_in, jobs_in_progress.",
    ["limit"],
)

# Exports and imports take from well under a second to minutes; agent runs seconds to a couple of minutes.
JOB_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
JOB_DURATION = Histogram(
    "aic_job_duration_seconds",
    "Time a worker spent on a job, by job type and outcome: the status it left the job in (success, failure, "
    "skipped), or timeout.",
    ["type", "outcome"],
    buckets=JOB_DURATION_BUCKETS,
)
JOB_RUNS = Counter(
    "aic_job_runs",
    "Jobs a worker handled, by type and outcome: the status it left the job in (success, failure, skipped), "
    "timeout (stopped by a time limit), not_run (already finished or deleted: a repeated delivery).",
    ["type", "outcome"],
)

# The labels' fixed vocabularies.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
TOKEN_ERRORS = frozenset(
    {
        "invalid_client",
        "invalid_scope",
        "invalid_grant",
        "invalid_request",
        "unauthorized_client",
        "unsupported_grant_type",
    }
)


def http_request_observed(*, route: str, method: str, status: int, seconds: float) -> None:
    labels = (route, method if method in HTTP_METHODS else "other", f"{status // 100}xx")
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_REQUEST_DURATION.labels(*labels).observe(seconds)


def token_issued() -> None:
    TOKEN_REQUESTS.labels("issued", "none").inc()


def token_refused(reason: str) -> None:
    """`reason`: the OAuth2 error code of the answer, or rate_limited."""
    known = reason if reason in TOKEN_ERRORS or reason == "rate_limited" else "other"
    TOKEN_REQUESTS.labels("refused", known).inc()


def rate_limit_refused(limit: str) -> None:
    RATE_LIMIT_REFUSALS.labels(limit).inc()


def job_run_observed(*, job_type: str, outcome: str, seconds: float | None) -> None:
    """`seconds` is None when the time is not known to this process (a job killed by the hard time limit)."""
    JOB_RUNS.labels(job_type, outcome).inc()
    if seconds is not None:
        JOB_DURATION.labels(job_type, outcome).observe(seconds)

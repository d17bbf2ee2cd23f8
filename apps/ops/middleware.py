"""What runs before the rest of the stack: the probes and the metrics endpoint, and the timing of every other request.

Orchestrators call the probes by the container's address (http://10.1.2.3:8000/readyz), which is not in
ALLOWED_HOSTS, over plain HTTP inside the cluster (no HTTPS redirect wanted), without cookies or a session; Prometheus
scrapes /metrics the same way. Placed first in MIDDLEWARE, ProbeMiddleware answers these paths before
SecurityMiddleware and CommonMiddleware look at the host; every other request goes on unchanged, and is counted and
timed by RequestMetricsMiddleware, next in the list."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.core.metrics import http_request_observed
from apps.ops import metrics, views

PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": views.healthz,
    "/readyz": views.readyz,
    "/metrics": metrics.metrics,
}


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)


class RequestMetricsMiddleware:
    """Counts and times each request by its route (the URL pattern, never the path with its ids), method and status
    class. Outside the other middleware, so that answers they make themselves (413, the lockout page) count too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        http_request_observed(
            route=route_of(request),
            method=request.method or "",
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response


def route_of(request: HttpRequest) -> str:
    """The pattern that matched ("/ai-service/<str:tenant>/jobs/<opaque_id:job_id>"); "static" for the files
    WhiteNoise serves before routing, "unmatched" for what no pattern matched or was answered before routing."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return f"/{match.route}" if match.route else match.view_name
    if request.path_info.startswith(f"/{settings.STATIC_URL.lstrip('/')}"):
        return "static"
    return "unmatched"

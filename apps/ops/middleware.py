"""The probes answered before the rest of the stack.

Orchestrators call them by the container's address (http://10.1.2.3:8000/readyz), which is not in ALLOWED_HOSTS,
over plain HTTP inside the cluster (no HTTPS redirect wanted), without cookies or a session. Placed first in
MIDDLEWARE, this answers the two paths before SecurityMiddleware and CommonMiddleware look at the host; every
other request goes on unchanged."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.ops import views

PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": views.healthz, "/readyz": views.readyz}


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)

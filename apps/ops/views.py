"""The orchestrator's probes: no authentication, no session, JSON only."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from apps.ops.checks import readiness


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers: nothing else is asked, so a database or broker outage never restarts the web server."""
    return _no_store(JsonResponse({"status": "ok"}))


@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Whether this process can serve: 503 naming what is not ready, so traffic goes elsewhere meanwhile."""
    result = readiness()
    body = {"status": "ok" if result.ready else "fail", "checks": result.checks}
    return _no_store(JsonResponse(body, status=200 if result.ready else 503))


def _no_store(response: JsonResponse) -> JsonResponse:
    # A proxy that cached a probe's answer would hide the next outage (or the recovery).
    response["Cache-Control"] = "no-store"
    return response

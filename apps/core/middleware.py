"""Answers for requests the views should never see, and for reads that ran out of their budget.

A body larger than any limit is answered 413 before anything reads it: Django would otherwise raise deep inside
the view, which the API turned into a 500 and the console into a bare 400. Too many query parameters make Django
refuse to parse the query string, which inside an API view was a 500. A NUL character (%00) cannot be stored in or
compared with PostgreSQL's text: in a console path or query string it reached the database as a 500. All are the
client's mistake, answered before any view runs: in the API's error shape on API paths, as a page elsewhere. The
API's own views answer a NUL in their paths and parameters themselves (404 for an id no resource can have, 400
naming the parameter), as for any other value.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

from apps.core import logs
from apps.core.budget import QueryTimeout, statement_budget
from apps.core.errors import error_body, is_api

NUL = "\x00"
access_log = logging.getLogger("apps.access")
_REQUEST_ID_META = "HTTP_" + logs.REQUEST_ID_HEADER.upper().replace("-", "_")


class RequestLogMiddleware:
    """Gives each request its id (the caller's `X-Request-ID` when acceptable, else a new one), returned in the
    response's `X-Request-ID`; every line written while the request is handled carries it. Then one access line:
    method, route (the URL pattern, never the raw path, which may carry values), status and duration."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        # From META: request.headers would first build a mapping of every header.
        request_id = logs.request_id_from(request.META.get(_REQUEST_ID_META))
        with logs.scope(request_id=request_id):
            response = self.get_response(request)
            response[logs.REQUEST_ID_HEADER] = request_id
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            route = _route(request)
            access_log.info(
                "%s %s %s %.1f ms",
                request.method,
                route,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
            setattr(request, logs.REQUEST_ATTRIBUTE, logs.current())
        return response

    def process_view(self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> None:
        # The tenant a page or an API path is about; the API's authentication replaces it with its token's tenant.
        tenant = kwargs.get("tenant")
        logs.bind(tenant=tenant if isinstance(tenant, str) else None)
        # Only a request that brought a session (the console's) has a user to name: looking at the user reads the
        # session, which would add `Vary: Cookie` to every API answer.
        # The API's paths have neither (ApiLane).
        session, user = getattr(request, "session", None), getattr(request, "user", None)
        if user is not None and session is not None and session.session_key is not None and user.is_authenticated:
            logs.bind(user_id=str(user.pk))


class _LaneEnds(threading.local):
    """ApiLaneEnd hands what follows it to the ApiLane built next. Django builds a handler's middleware from the
    last to the first, in one call, in one thread: the ApiLane built next is the one of the same handler."""

    rest: Callable[[HttpRequest], HttpResponse] | None = None


_lane_ends = _LaneEnds()


class ApiLane:
    """On the API's paths, goes straight to what follows ApiLaneEnd, past the console's middleware listed between
    the two (content policy, static files, session, CSRF, user, messages, framing, sign-in lockouts).

    The API authenticates each request by its bearer token and keeps no session: that middleware has nothing to do
    for it, yet each layer cost its call on every API request (about 90 µs of 650 µs of CPU for a job by id). On
    every other path the console's middleware runs exactly as its own package ships it, listed under its own name
    (which Django's checks look for). Their view hooks still run for API views, which are CSRF-exempt.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if _lane_ends.rest is None:
            raise ImproperlyConfigured("ApiLane needs ApiLaneEnd after it in MIDDLEWARE")
        self.get_response = get_response
        self.api_response, _lane_ends.rest = _lane_ends.rest, None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api(request):
            return self.get_response(request)
        response = self.api_response(request)
        # As CommonMiddleware does on the console's paths: a body of known length is not sent in chunks.
        if not response.streaming and not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response


class ApiLaneEnd:
    """Where ApiLane's API requests come back in: the middleware after this one runs on every path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = _lane_ends.rest = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


def _route(request: HttpRequest) -> str:
    match = request.resolver_match
    if match is None:
        # Answered before routing (the probes, a 413): resolved here; a path no pattern matches is not named.
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "(unmatched)"
    return "/" + match.route


class BodySizeLimit:
    """413 for a request whose declared body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE (IMPORT_MAX_BYTES plus
    room for a form's other fields)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or ""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and declared.isdigit() and int(declared) > limit:
            return too_large(request, int(declared))
        return self.get_response(request)


def too_large(request: HttpRequest, size: int) -> HttpResponse:
    limit = settings.IMPORT_MAX_BYTES
    message = (
        f"The request body is {_mib(size)}; this installation takes at most {_mib(limit)} (IMPORT_MAX_BYTES) "
        "for an import and a little more for a form."
    )
    return problem_response(request, 413, message)


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB ({size} bytes)"


class ApiStatementBudget:
    """Every query of an API request runs under the API's read budget (API_STATEMENT_TIMEOUT_MS), its token lookup
    as well as its reads. The API does nothing long in a request (what takes long is a job), so the budget bounds
    it all; and on PostgreSQL the timeout stays the same from one API request to the next on a connection, which is
    then never changed between them (apps.core.postgresql)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api(request):
            return self.get_response(request)
        with statement_budget(settings.API_STATEMENT_TIMEOUT_MS):
            return self.get_response(request)


class RequestInputMiddleware:
    """400 for a NUL in a console path or query string and for too many query parameters; the console's 503."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = _problem(request)
        if problem is not None:
            return problem_response(request, 400, problem)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # API views answer their own timeouts (apps/core/errors.py); these are the console's.
        if isinstance(exception, QueryTimeout):
            message = (
                f"This list took longer than the {exception.seconds} s allowed and was stopped. Narrow the filter "
                "(a type, a status, an agent or a date range) and try again."
            )
            return problem_response(request, 503, message)
        return None


def _problem(request: HttpRequest) -> str | None:
    try:
        query = request.GET
    except TooManyFieldsSent:
        return f"Too many query parameters: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} are allowed."
    if is_api(request):
        return None
    if NUL in request.path:
        return "The path must not contain a NUL character (%00)."
    if any(NUL in key or any(NUL in value for value in query.getlist(key)) for key in query):
        return "The query string must not contain a NUL character (%00)."
    return None


def problem_response(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if is_api(request):
        return JsonResponse(error_body(status, message), status=status)
    return render(request, "problem.html", {"status": status, "message": message}, status=status)

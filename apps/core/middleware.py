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
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.deprecation import MiddlewareMixin

from apps.core import logs
from apps.core.budget import QueryTimeout, statement_budget
from apps.core.errors import error_body, is_api

NUL = "\x00"
access_log = logging.getLogger("apps.access")


class RequestLogMiddleware:
    """Gives each request its id (the caller's `X-Request-ID` when acceptable, else a new one), returned in the
    response's `X-Request-ID`; every line written while the request is handled carries it. Then one access line:
    method, route (the URL pattern, never the raw path, which may carry values), status and duration."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = logs.request_id_from(request.headers.get(logs.REQUEST_ID_HEADER))
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
        # The API's paths have no user at all (ConsoleAuthenticationMiddleware).
        session, user = getattr(request, "session", None), getattr(request, "user", None)
        if user is not None and session is not None and session.session_key is not None and user.is_authenticated:
            logs.bind(user_id=str(user.pk))


M = TypeVar("M", bound=type[MiddlewareMixin])


def console_only(middleware: M) -> M:
    """`middleware`, run on every path but the API's. The API authenticates each request by its bearer token and
    keeps no session: it has no use for a user from the session, for messages or for a page's Content-Security-Policy,
    and an API request skips their work (on the console's paths they run exactly as their own packages ship them)."""

    class ConsoleOnly(middleware):  # type: ignore[valid-type,misc]  # a class made from the argument
        def __call__(self, request: HttpRequest) -> Any:
            if is_api(request):
                return self.get_response(request)
            return super().__call__(request)

        def process_view(self, request: HttpRequest, *args: Any) -> Any:
            if is_api(request) or not hasattr(super(), "process_view"):
                return None
            return super().process_view(request, *args)

    ConsoleOnly.__name__ = ConsoleOnly.__qualname__ = f"ConsoleOnly{middleware.__name__}"
    return cast(M, ConsoleOnly)


# Listed in MIDDLEWARE in place of Django's.
ConsoleAuthenticationMiddleware = console_only(AuthenticationMiddleware)
ConsoleMessageMiddleware = console_only(MessageMiddleware)
ConsoleContentSecurityPolicy = console_only(CSPMiddleware)


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

"""Answers for requests the views should never see, and for reads that ran out of their budget.

Too many query parameters make Django refuse to parse the query string, which inside an API view was a 500. A NUL
character (%00) cannot be stored in or compared with PostgreSQL's text: in a console path or query string it
reached the database as a 500. Both are the client's mistake, answered 400 before any view runs: in the API's
error shape on API paths, as a page elsewhere. The API's own views answer a NUL in their paths and parameters
themselves (404 for an id no resource can have, 400 naming the parameter), as for any other value.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from apps.core.budget import QueryTimeout
from apps.core.errors import error_body, is_api

NUL = "\x00"


class RequestInputMiddleware:
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

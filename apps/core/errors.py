"""Errors in the published shapes: `ErrorMessage` for 4xx/5xx, the gateway `fault` for 401.

No API path ever answers with a Django HTML page or DRF's default `{"detail": ...}` body.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

from apps.core.budget import QueryTimeout

logger = logging.getLogger(__name__)

API_PREFIXES = ("/ai-service/", "/oauth/")


class InvalidToken(exceptions.AuthenticationFailed):
    fault = ("Invalid access token", "oauth.v2.InvalidAccessToken")


class ExpiredToken(exceptions.AuthenticationFailed):
    fault = ("Access Token expired", "keymanagement.service.access_token_expired")


class ApiError(exceptions.APIException):
    """A 4xx with a message and, optionally, the field it is about."""

    def __init__(
        self,
        message: str,
        *,
        code: int = 400,
        field: str | None = None,
        resource_id: str | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = code
        self.field = field
        self.resource_id = resource_id
        self.details = details


def error_body(
    code: int, message: str, *, details: list[dict[str, str]] | None = None, resource_id: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "status": HTTPStatus(code).phrase, "message": _encodable(message)}
    if details:
        body["details"] = [{key: _encodable(value) for key, value in detail.items()} for detail in details]
    if resource_id is not None:
        body["resourceId"] = resource_id
    return body


def _encodable(text: str) -> str:
    """Messages may quote the input, and JSON can carry a lone surrogate that UTF-8 cannot: escape those, or
    rendering the error would itself fail."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def fault_body(faultstring: str, errorcode: str) -> dict[str, Any]:
    return {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}


def validation_details(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """One detail per message, each naming its field as a dot path (`config.url`, `nativeTools.1.id`)."""
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            # Errors of an object as a whole (DRF's non_field_errors) belong to the object's own path.
            name = str(key) if key != api_settings.NON_FIELD_ERRORS_KEY else ""
            out += validation_details(value, ".".join(part for part in (prefix, name) if part))
        return out
    if isinstance(detail, list):
        if any(isinstance(item, dict | list) for item in detail):
            # The errors of a list's items, position by position (valid items have empty ones).
            paths = [f"{prefix}.{i}" if prefix else str(i) for i in range(len(detail))]
            return [d for item, path in zip(detail, paths, strict=True) for d in validation_details(item, path)]
        return [d for item in detail for d in validation_details(item, prefix)]
    kind = str(getattr(detail, "code", None) or "invalid")
    return [{"field": prefix or "body", "type": kind, "message": str(detail)}]


def _render(exc: exceptions.APIException) -> Response:
    code = exc.status_code
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        faultstring, errorcode = getattr(exc, "fault", InvalidToken.fault)
        return Response(fault_body(faultstring, errorcode), status=status.HTTP_401_UNAUTHORIZED)
    if isinstance(exc, ApiError):
        details = exc.details
        if details is None and exc.field:
            details = [{"field": exc.field, "type": "invalid", "message": str(exc.detail)}]
        return Response(error_body(code, str(exc.detail), details=details, resource_id=exc.resource_id), code)
    if isinstance(exc, exceptions.ValidationError):
        details = validation_details(exc.detail)
        message = details[0]["message"] if len(details) == 1 else "The request is not valid."
        return Response(error_body(400, message, details=details), 400)
    if isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
        # A body that is not JSON is a bad request, whatever the exact reason.
        return Response(error_body(400, str(exc.detail)), 400)
    return Response(error_body(code, str(exc.detail)), code)


def query_timeout_message(exc: QueryTimeout) -> str:
    return (
        f"The query took longer than the {exc.seconds} s allowed and was stopped: narrow it (more selective q terms,"
        " fewer ~ terms, another sort, no X-Total-Count) and try again."
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, QueryTimeout):
        # Not the client's fault as such, and not an outage either: the same request will fail again.
        return Response(error_body(503, query_timeout_message(exc)), 503)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    if isinstance(exc, exceptions.APIException):
        response = _render(exc)
        wait = getattr(exc, "wait", None)
        if wait:
            response["Retry-After"] = str(int(wait))
        if response.status_code == 401:
            response["WWW-Authenticate"] = 'Bearer realm="ai-service"'
        return response
    from rest_framework.views import exception_handler  # imported late: rest_framework.views imports us

    fallback = exception_handler(exc, context)
    if fallback is not None:
        return fallback
    logger.exception("Unhandled error in %s", context.get("view"))
    return Response(error_body(500, "Internal error; the incident is logged."), 500)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


# Pages other than the API's get the console's 403.html, 404.html and 500.html (templates/), each with a link back.


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return JsonResponse(error_body(403, str(exception) or "Forbidden."), status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return JsonResponse(error_body(404, "No such resource or operation."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return JsonResponse(error_body(500, "Internal error; the incident is logged."), status=500)
    # Django renders 500.html without the request's context: the page needs neither the database nor a signed-in
    # user, which may be what failed.
    return defaults.server_error(request)


def too_many_fields_message() -> str:
    return f"Too many parameters: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} are allowed."


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # Django refuses a form body of too many fields before any view runs; say so, as for the query string.
    if isinstance(exception, TooManyFieldsSent):
        message = too_many_fields_message()
        if is_api(request):
            return JsonResponse(error_body(400, message), status=400)
        return render(request, "problem.html", {"status": 400, "message": message}, status=400)
    if is_api(request):
        return JsonResponse(error_body(400, "Bad request."), status=400)
    return defaults.bad_request(request, exception)

"""Middleware shared by the API and the console."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import format_html

from apps.core.errors import API_PREFIXES, error_body


class BodySizeLimit:
    """Answer 413 to a request whose declared body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE (IMPORT_MAX_BYTES
    plus room for a form's other fields), before anything reads it: Django would otherwise raise deep inside the
    view, which the API turned into a 500 and the console into a bare 400."""

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
    if request.path.startswith(API_PREFIXES):
        return JsonResponse(error_body(413, message), status=413)
    page = format_html("<!doctype html><title>Too large</title><h1>Too large</h1><p>{}</p>", message)
    return HttpResponse(page, status=413)


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB ({size} bytes)"

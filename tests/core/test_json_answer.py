"""json_answer answers what DRF's Response would, byte for byte and header for header, without its machinery."""

from __future__ import annotations

from typing import Any

import pytest
from django.http.response import HttpResponseBase
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apps.core.renderers import json_answer

VALUE: dict[str, Any] = {"id": "j1", "message": "line\u2028separator \u00e9", "n": [1, 2.5, None, True], "nested": {}}


class _View(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    fast = True

    def get(self, request: Request) -> HttpResponseBase:
        return json_answer(request, VALUE) if self.fast else Response(VALUE)


def _answer(fast: bool, accept: str | None) -> HttpResponseBase:
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = _View.as_view(fast=fast)(APIRequestFactory().get("/ai-service/acme/x", **headers))
    if hasattr(response, "render"):
        response.render()
    return response


@pytest.mark.parametrize("accept", [None, "application/json", "*/*", "application/json; indent=2"])
def test_the_same_bytes_and_headers_as_a_drf_response(accept: str | None) -> None:
    fast, drf = _answer(True, accept), _answer(False, accept)

    assert fast.status_code == drf.status_code == 200
    assert fast.content == drf.content
    assert dict(fast.headers) == dict(drf.headers)


def test_it_renders_at_once_unless_asked_to_indent() -> None:
    assert not isinstance(_answer(True, None), Response)
    assert b"\\u2028" in _answer(True, None).content
    assert isinstance(_answer(True, "application/json; indent=2"), Response)


def test_an_accept_header_the_api_cannot_answer_is_still_refused() -> None:
    assert _answer(True, "application/xml").status_code == 406

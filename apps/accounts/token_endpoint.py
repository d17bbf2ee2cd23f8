"""`POST /oauth/token`: django-oauth-toolkit's token view behind the checks a public endpoint needs.

Before the toolkit sees a request: its size, one value per field, no control characters, only the
client-credentials grant, and the rate limits per address and per client id. Every error answers in the OAuth2 shape
(`error`, `error_description`) that token clients read, together with the API's `code`, `status` and `message`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import unquote_plus

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from oauth2_provider.views import TokenView

from apps.accounts.throttling import Limited, token_request_limited
from apps.core import logs
from apps.core.errors import error_body
from apps.core.metrics import token_issued, token_refused

MAX_BODY_BYTES = 16 * 1024  # a token request is a few hundred bytes
MAX_FIELD_CHARS = 1024
FIELDS = ("grant_type", "client_id", "client_secret", "scope")
GRANT_TYPE = "client_credentials"
# C0 and C1 controls, DEL and lone UTF-16 surrogates: never part of a client id, secret or scope, and NUL cannot even
# be stored in PostgreSQL text.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

_MESSAGES = {
    "invalid_client": "The client is unknown, revoked, or its secret is wrong.",
    "invalid_scope": "The scope asked for is not one the client was given.",
    "invalid_grant": "The grant is not valid.",
    "unauthorized_client": "This client may not use this grant type.",
    "unsupported_grant_type": f"Only grant_type={GRANT_TYPE} is supported.",
    "invalid_request": "The token request is not valid.",
}


class TokenRequestError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def token_error(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse(
        {"error": error, "error_description": description, **error_body(status, description)}, status=status
    )


class ClientCredentialsTokenView(TokenView):  # type: ignore[misc]  # the toolkit is untyped
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = self._answer(request, *args, **kwargs)
        _count_outcome(response)
        return response

    def _answer(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client_id, problem = _inspect(request)
        logs.bind(client_id=client_id)  # the id the request names, known or not; never its secret
        # Counted before anything else is answered: malformed requests use up the address's allowance too.
        limited = token_request_limited(request, client_id=client_id)
        if limited is not None:
            return _too_many(limited)
        if problem is not None:
            return token_error(problem.status, problem.error, problem.description)
        if request.POST.get("grant_type") != GRANT_TYPE:
            # Stops every other grant, the device-code one included, before the toolkit handles it.
            return token_error(400, "unsupported_grant_type", _MESSAGES["unsupported_grant_type"])
        return _with_api_error_fields(super().post(request, *args, **kwargs))


def _count_outcome(response: HttpResponse) -> None:
    """Issued, or refused by the OAuth2 error every refusal of the endpoint carries (rate_limited for a 429)."""
    if response.status_code == 200:
        token_issued()
        return
    if response.status_code == 429:
        token_refused("rate_limited")
        return
    try:
        error = json.loads(response.content).get("error")
    except (ValueError, AttributeError):
        error = None
    token_refused(str(error) if error else "other")


def _inspect(request: HttpRequest) -> tuple[str | None, TokenRequestError | None]:
    """The client id the request names (for its rate limit), and what is wrong with the request, if anything."""
    try:
        fields = _read_form(request)
    except TokenRequestError as problem:
        return None, problem
    try:
        return _client_id(request, fields), None
    except TokenRequestError as problem:
        return fields.get("client_id") or None, problem


def _read_form(request: HttpRequest) -> QueryDict:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise TokenRequestError(413, "invalid_request", f"The request body is over {MAX_BODY_BYTES} bytes.")
    try:
        fields = request.POST
    except RequestDataTooBig:
        raise TokenRequestError(413, "invalid_request", f"The request body is over {MAX_BODY_BYTES} bytes.") from None
    except (TooManyFieldsSent, TooManyFilesSent):
        raise TokenRequestError(400, "invalid_request", "The request has too many fields.") from None
    for name in FIELDS:
        values = fields.getlist(name)
        if len(values) > 1:
            raise TokenRequestError(400, "invalid_request", f"{name} is given more than once.")
        if values:
            _check_value(name, values[0])
    return fields


def _check_value(name: str, value: str) -> None:
    if len(value) > MAX_FIELD_CHARS:
        raise TokenRequestError(400, "invalid_request", f"{name} is longer than {MAX_FIELD_CHARS} characters.")
    if _FORBIDDEN.search(value):
        raise TokenRequestError(400, "invalid_request", f"{name} contains control characters.")


def _client_id(request: HttpRequest, fields: QueryDict) -> str | None:
    """From HTTP Basic (preferred, as the toolkit does) or else the body."""
    scheme, _, encoded = str(request.META.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme != "Basic":
        return fields.get("client_id") or None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise TokenRequestError(401, "invalid_client", "The Basic credentials are not base64 of UTF-8.") from None
    client_id, _, secret = (unquote_plus(part) for part in decoded.partition(":"))
    _check_value("client_id", client_id)
    _check_value("client_secret", secret)
    return client_id or None


def _too_many(limited: Limited) -> JsonResponse:
    per = "this client id" if limited.what == "client" else "this address"
    response = token_error(
        429, "slow_down", f"Too many token requests from {per}; retry in {limited.retry_after} seconds."
    )
    response["Retry-After"] = str(limited.retry_after)
    return response


def _with_api_error_fields(response: HttpResponse) -> HttpResponse:
    """The toolkit's errors may carry only `error`: add a description and the API's fields, so that every error of the
    endpoint has the same shape."""
    if response.status_code < 400 or not response.get("Content-Type", "").startswith("application/json"):
        return response
    body = json.loads(response.content)
    if not isinstance(body, dict) or "error" not in body or "code" in body:
        return response
    error = str(body["error"])
    description = str(body.get("error_description") or _MESSAGES.get(error, "The token request is not valid."))
    body |= {"error_description": description, **error_body(response.status_code, description)}
    response.content = json.dumps(body).encode()
    return response

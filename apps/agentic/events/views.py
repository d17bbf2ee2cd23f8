"""The commerce events inbox: `POST /ai-service/{tenant}/agentic/commerce-events/inbox`.

No access token: the Standard Webhooks signature over the raw body is the authentication, checked before the body
is even parsed. Every refusal of the signature (missing, wrong, stale, a tenant that does not exist or has no
secret) is the same kind of 401, so the inbox does not tell anyone which tenants exist.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from django.conf import settings
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agentic.events import schema, selectors, services, signing
from apps.agentic.events.signing import SignatureError
from apps.core.errors import ApiError
from apps.core.ids import ID_MAX_LENGTH
from apps.tenants.selectors import tenant_get

EVENT_MAX_LENGTH = 255  # EventDelivery.event
# Made at start-up and never shown: no delivery can be signed with it.
_DECOY = signing.secret_new()


class CommerceEventInboxView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="POST-ai-receive-commerce-event",
        summary="Receive a commerce event",
        description=(
            "Starts the agents whose `commerce_events` trigger lists the event: one AGENT_CHAT job per enabled agent, "
            "`skipped` when the trigger's filter does not match. Signed per Standard Webhooks with the tenant's "
            "secret (`manage.py event_secret TENANT`); no access token. The same `webhook-id` again answers the "
            "same jobs and starts nothing."
        ),
        tags=["Commerce Events"],
        auth=[],
        parameters=[
            OpenApiParameter(signing.HEADER_ID, str, OpenApiParameter.HEADER, required=True, description=schema.ID),
            OpenApiParameter(
                signing.HEADER_TIMESTAMP, str, OpenApiParameter.HEADER, required=True, description=schema.TIMESTAMP
            ),
            OpenApiParameter(
                signing.HEADER_SIGNATURE, str, OpenApiParameter.HEADER, required=True, description=schema.SIGNATURE
            ),
        ],
        request={"application/json": schema.EVENT},
        responses={
            202: OpenApiResponse(
                schema.RECEIVED, description="The jobs the event started (none for an unknown event)."
            ),
            400: OpenApiResponse(schema.ERROR, description="The body is not a commerce event."),
            401: OpenApiResponse(schema.ERROR, description="Not signed with the tenant's secret, or not fresh."),
        },
    )
    def post(self, request: Request, tenant: str) -> HttpResponseBase:
        raw = request.body
        found = tenant_get(name=tenant)
        try:
            signed = signing.headers_read(request.headers)
            now, tolerance = time.time(), settings.COMMERCE_EVENT_TOLERANCE_SECONDS
            signing.freshness_check(signed, now=now, tolerance=tolerance)
            valid = selectors.event_secrets_valid(tenant=found) if found is not None else []
            # A tenant that does not exist, or has no secret, costs the same signature check as a wrong signature,
            # so the time of the answer does not tell them apart either.
            signing.signature_check(signed, raw, valid or [_DECOY])
            if not valid:
                raise SignatureError(signing.NO_MATCH)
        except SignatureError as exc:
            raise ApiError(str(exc), code=401) from None
        if found is None:  # never here: without secrets no signature matches
            raise ApiError(signing.NO_MATCH, code=401)
        if len(signed.webhook_id) > ID_MAX_LENGTH:
            raise ApiError(f"{signing.HEADER_ID} is at most {ID_MAX_LENGTH} characters.", field=signing.HEADER_ID)
        body = event_body(raw)
        received = services.event_receive(tenant=found, webhook_id=signed.webhook_id, body=body)
        return Response({"jobIds": received.job_ids}, status=202)

    def handle_exception(self, exc: Exception) -> Response:
        response: Response = super().handle_exception(exc)
        if response.status_code == 401:
            # Not a bearer-token API: say what authenticates here.
            response["WWW-Authenticate"] = 'Webhook-Signature realm="commerce-events"'
        return response


def event_body(raw: bytes) -> dict[str, Any]:
    """The event, {"id", "event", "payload"} (more members are kept), or a 400 naming what is wrong."""
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ApiError('The body must be a JSON object: {"id", "event", "payload"}.', field="body") from None
    if not isinstance(body, dict):
        raise ApiError('The body must be a JSON object: {"id", "event", "payload"}.', field="body")
    for name, limit in (("id", ID_MAX_LENGTH), ("event", EVENT_MAX_LENGTH)):
        value = body.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise ApiError(f"{name} must be a non-empty string of at most {limit} characters.", field=name)
    if not isinstance(body.get("payload"), dict):
        raise ApiError("payload must be a JSON object.", field="payload")
    try:
        problem = _unstorable(body, "")
    except RecursionError:
        problem = ("body", "is nested too deeply.")
    if problem is not None:
        raise ApiError(f"{problem[0]} {problem[1]}", field=problem[0])
    return body


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _unstorable(value: Any, path: str) -> tuple[str, str] | None:
    """(field, why) for text the database's JSON cannot hold: NUL characters and lone surrogates."""
    if isinstance(value, str):
        return (path or "body", "must not contain NUL characters or lone surrogates.") if _bad_text(value) else None
    if isinstance(value, float) and not math.isfinite(value):
        return (path or "body", "must be a finite number.")
    items: Any = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and _bad_text(key):
            return (path or "body", "must not have keys with NUL characters or lone surrogates.")
        problem = _unstorable(item, where)
        if problem is not None:
            return problem
    return None


def _bad_text(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")  # fails on a lone surrogate, which JSON's \ud800 escapes can carry
    except UnicodeEncodeError:
        return True
    return False

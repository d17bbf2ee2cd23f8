"""Helpers of the commerce events tests: a sender that signs deliveries as Standard Webhooks says (written from the
standard, not from apps.agentic.events.signing, so that a mistake there cannot hide here; the README's example
follows it), agents subscribed to events, and the tenant's secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from apps.agentic.events.services import event_secret_get
from apps.agents.models import Agent, Kind, Token
from apps.tenants.models import Tenant
from tests.agents.conftest import DocumentedClient, agent_body, create, token_body

ORDER_CREATED = "order.order-created"


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of a delivery: the signature is the base64 HMAC-SHA256, keyed with the
    bytes the secret's base64 holds, of "{id}.{timestamp}.{body}"."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    mac = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp), "webhook-signature": f"v1,{mac}"}


def order_event(currency: str = "EUR", event: str = ORDER_CREATED, **order: Any) -> dict[str, Any]:
    return {
        "id": f"evt-{uuid.uuid4().hex[:12]}",
        "event": event,
        "payload": {"order": {"id": "ord-1", "currency": currency, "totalPrice": 99.5, **order}},
    }


def inbox(tenant: str = "acme") -> str:
    return f"/ai-service/{tenant}/agentic/commerce-events/inbox"


@dataclass
class Sender:
    """Posts deliveries to a tenant's inbox, signed with `secret` unless told otherwise."""

    secret: str
    tenant: str = "acme"
    client: DocumentedClient = field(default_factory=DocumentedClient)

    def post(
        self,
        body: dict[str, Any] | bytes,
        *,
        webhook_id: str | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        signed = sign(
            secret or self.secret,
            webhook_id or f"msg_{uuid.uuid4().hex}",
            int(time.time()) if timestamp is None else timestamp,
            raw,
        )
        return self.client.post(
            inbox(self.tenant), raw, content_type="application/json", headers={**signed, **(headers or {})}
        )


@pytest.fixture
def secret(tenant: Tenant) -> str:
    return event_secret_get(tenant=tenant)


@pytest.fixture
def sender(secret: str) -> Sender:
    return Sender(secret)


def commerce_trigger(events: str | list[str], condition: dict[str, Any] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"events": events}
    if condition is not None:
        config["filter"] = condition
    return {"type": "commerce_events", "config": config}


def subscribe(tenant: Tenant, public_id: str, *triggers: dict[str, Any], enabled: bool = True) -> Agent:
    """An agent of the tenant started by `triggers` (made with the catalogue's own validation)."""
    if not Token.objects.filter(tenant=tenant, public_id="t1").exists():
        create(tenant, Kind.TOKEN, "t1", token_body())
    body = agent_body("t1", name=public_id.title(), triggers=list(triggers), enabled=enabled)
    agent = create(tenant, Kind.AGENT, public_id, body)
    assert isinstance(agent, Agent)
    return agent

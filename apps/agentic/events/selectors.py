"""Reads of commerce events: the tenant's signing secrets that are valid now, the agents an event starts, and the
deliveries received."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from apps.agentic.models import EventDelivery, EventSecret
from apps.agents.crypto import decrypt_value
from apps.agents.models import Agent
from apps.agents.triggers import commerce_triggers_for
from apps.core.timefmt import now_ms
from apps.tenants.models import Tenant

logger = logging.getLogger(__name__)

RECENT_DELIVERIES = 50


@dataclass(frozen=True)
class EventSecrets:
    current: str | None
    previous: str | None  # the one replaced by the last rotation, while its grace lasts


def event_secrets(*, tenant: Tenant) -> EventSecrets:
    """The tenant's secrets in clear, as far as the configured keys open them; nothing when it has none yet."""
    row = EventSecret.objects.filter(tenant=tenant).first()
    if row is None:
        return EventSecrets(current=None, previous=None)
    previous = None
    if row.encrypted_previous and row.previous_valid_until and row.previous_valid_until > now_ms():
        previous = _opened(row.encrypted_previous, tenant)
    return EventSecrets(current=_opened(row.encrypted_secret, tenant), previous=previous)


def event_secrets_valid(*, tenant: Tenant) -> list[str]:
    """The secrets a delivery to the tenant may be signed with now: the current one and, for a while after a
    rotation, the one before."""
    found = event_secrets(tenant=tenant)
    return [secret for secret in (found.current, found.previous) if secret]


def _opened(encrypted: str, tenant: Tenant) -> str | None:
    value = decrypt_value(encrypted)
    if value is None:
        # Never the value: only that it cannot be read, and what to do about it.
        logger.warning(
            "The commerce event secret of tenant %s opens with none of TOKEN_ENCRYPTION_KEYS; add the key it was "
            "stored under, or rotate it (manage.py event_secret %s --rotate).",
            tenant.name,
            tenant.name,
        )
    return value


def delivery_get(*, tenant: Tenant, webhook_id: str) -> EventDelivery | None:
    return EventDelivery.objects.filter(tenant=tenant, webhook_id=webhook_id).first()


def delivery_list(*, tenant: Tenant, limit: int = RECENT_DELIVERIES) -> QuerySet[EventDelivery]:
    """The tenant's last deliveries, newest first."""
    return EventDelivery.objects.filter(tenant=tenant).order_by("-received_at", "-id")[:limit]


@dataclass(frozen=True)
class Subscriber:
    agent: Agent
    triggers: list[Mapping[str, Any]]  # its commerce_events triggers that list the event


def event_subscribers(*, tenant: Tenant, event: str) -> list[Subscriber]:
    """The tenant's enabled agents with a commerce_events trigger listing `event`, oldest agent first."""
    # Which triggers an agent has lives in its body (JSON), and JSON containment is not portable to SQLite: the
    # tenant's enabled agents are few enough to read whole.
    candidates = Agent.objects.filter(tenant=tenant, enabled=True).order_by("created_at", "public_id")
    found = [Subscriber(agent, commerce_triggers_for(agent.body, event)) for agent in candidates]
    return [subscriber for subscriber in found if subscriber.triggers]

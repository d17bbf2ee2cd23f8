"""Realistic synthetic jobs, for benchmarks and demos."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from apps.core.ids import new_object_id
from apps.jobs.models import Job

COLUMNS = (
    "tenant_id",
    "job_id",
    "type",
    "status",
    "agent_type",
    "agent_id",
    "session_id",
    "message",
    "commerce_event",
    "export_result",
    "import_result",
    "created_at",
    "modified_at",
    "version",
)

_TYPES = [(Job.Type.AGENT_CHAT, 80), (Job.Type.EXPORT, 10), (Job.Type.IMPORT, 10)]
_STATUSES = [(Job.Status.SUCCESS, 85), (Job.Status.FAILURE, 10), (Job.Status.IN_PROGRESS, 5)]
_AGENT_TYPES = list(Job.AgentType.values)
_EVENTS = ["order.created", "order.status.changed", "return.created", "customer.created", "payment.failed"]
_SUBJECTS = ["order", "invoice", "parcel", "voucher", "subscription", "payment", "return", "account"]
_PHRASES = [
    "Customer asks for a refund of {subject} {n}",
    "Complaint about a late {subject} {n} forwarded to the team",
    "Possible fraud pattern detected on {subject} {n}",
    "Answered a question about {subject} {n}",
    "Escalated {subject} {n} to a human agent",
    "Updated the shipping address of {subject} {n}",
    "Could not reach the commerce API for {subject} {n}: timeout",
    "Summarised the conversation about {subject} {n}",
]


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _export_result(rng: random.Random) -> str:
    payload = json.dumps({"agents": [{"id": f"agent-{rng.randrange(1000)}"}], "tools": [], "mcpServers": []})
    data = base64.b64encode(payload.encode()).decode()
    return json.dumps({"data": data, "checksum": hashlib.sha256(payload.encode()).hexdigest()})


def _import_result(rng: random.Random) -> str:
    agents = [{"id": new_object_id(), "name": f"Agent {i}", "state": "DISABLED"} for i in range(rng.randint(1, 3))]
    return json.dumps(
        {"message": f"Imported {len(agents)} agents", "summary": {"agents": agents, "tools": [], "mcpServers": []}}
    )


def synthetic_rows(tenant_id: int, count: int, *, seed: int, days: int = 365) -> Iterator[tuple[Any, ...]]:
    """`count` rows in COLUMNS order, oldest first, spread evenly over the last `days` days."""
    rng = random.Random(seed)
    end = timezone.now().replace(microsecond=0)
    start = end - timedelta(days=days)
    step = (end - start) / max(count, 1)
    agents = [new_object_id() for _ in range(20)]
    for i in range(count):
        created: datetime = start + step * i + timedelta(milliseconds=rng.randrange(1000))
        yield _row(rng, tenant_id, created, agents)


def _row(rng: random.Random, tenant_id: int, created: datetime, agents: list[str]) -> tuple[Any, ...]:
    job_type = _weighted(rng, _TYPES)
    status = _weighted(rng, _STATUSES)
    chat = job_type == Job.Type.AGENT_CHAT
    done = status != Job.Status.IN_PROGRESS
    message = rng.choice(_PHRASES).format(subject=rng.choice(_SUBJECTS), n=rng.randrange(10_000, 99_999))
    return (
        tenant_id,
        new_object_id(created),
        job_type,
        status,
        rng.choice(_AGENT_TYPES) if chat else None,
        rng.choice(agents) if chat else None,
        new_object_id(created) if chat else None,
        message if chat or status == Job.Status.FAILURE else None,
        rng.choice(_EVENTS) if chat and rng.random() < 0.3 else None,
        _export_result(rng) if job_type == Job.Type.EXPORT and status == Job.Status.SUCCESS else None,
        _import_result(rng) if job_type == Job.Type.IMPORT and status == Job.Status.SUCCESS else None,
        created,
        created + timedelta(seconds=rng.randint(1, 90)) if done else created,
        rng.randint(2, 3) if done else 1,
    )

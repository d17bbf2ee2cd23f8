"""The agent app's scheduled upkeep: ids and counts in, the work in its services."""

from __future__ import annotations

from celery import shared_task

from apps.agentic.events.services import event_deliveries_prune as prune


@shared_task(name="apps.agentic.tasks.event_deliveries_prune")
def event_deliveries_prune() -> int:
    return prune()

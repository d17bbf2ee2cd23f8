"""What an agent's `commerce_events` trigger is: the events it lists and the operators of its filter. The agents'
validation (apps/agents/api/serializers/agents.py) and the commerce events inbox (apps/agentic/events) both read
it from here, so the two cannot disagree on what a filter may say."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

COMMERCE_EVENTS = "commerce_events"

# A compound filter: {op, conditions: [filter, ...]}.
FILTER_LOGICAL_OPS = ("$and", "$or")
# Leaves {left, op, right}: right is one scalar, or a non-empty list of scalars.
FILTER_SCALAR_OPS = ("$eq", "$ne")
FILTER_LIST_OPS = ("$in", "$notIn")
# Leaves {left, op} without right.
FILTER_UNARY_OPS = ("$exists", "$notExists", "$isEmpty", "$notEmpty")
FILTER_OPS = (*FILTER_LOGICAL_OPS, *FILTER_SCALAR_OPS, *FILTER_LIST_OPS, *FILTER_UNARY_OPS)


def trigger_event_names(trigger: Mapping[str, Any]) -> list[str]:
    """The events a `commerce_events` trigger lists (its `events` is a name or a list of names); [] for any other
    trigger."""
    if trigger.get("type") != COMMERCE_EVENTS:
        return []
    config = trigger.get("config")
    events = config.get("events") if isinstance(config, Mapping) else None
    if isinstance(events, str):
        return [events]
    return [name for name in events if isinstance(name, str)] if isinstance(events, list) else []


def commerce_triggers_for(body: Mapping[str, Any], event: str) -> list[Mapping[str, Any]]:
    """The `commerce_events` triggers of an agent (its stored body) that list `event`."""
    triggers = body.get("triggers")
    if not isinstance(triggers, list):
        return []
    return [t for t in triggers if isinstance(t, Mapping) and event in trigger_event_names(t)]

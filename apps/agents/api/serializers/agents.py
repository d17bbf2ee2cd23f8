"""Agents: triggers (with the commerce event filter), LLM configurations, attached MCP servers and tools."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from apps.agents.api.serializers.base import (
    API_KEY_PROVIDERS,
    CALLER_TYPES,
    FILTER_MAX_DEPTH,
    PREDEFINED_DOMAINS,
    SELF_HOSTED_PROVIDERS,
    SLACK_OPERATIONS,
    TEAMS_OPERATIONS,
    ApiSerializer,
    AuthorizedEndpoint,
    ByKey,
    Empty,
    IdRef,
    Localized,
    Metadata,
    choice_field,
    json_text,
    text_field,
)
from apps.agents.models import Agent
from apps.agents.triggers import (
    COMMERCE_EVENTS,
    FILTER_LIST_OPS,
    FILTER_LOGICAL_OPS,
    FILTER_OPS,
    FILTER_SCALAR_OPS,
    FILTER_UNARY_OPS,
)
from apps.core.ids import ID_MAX_LENGTH


def _commerce_event_filter(value: Any, depth: int = 0) -> dict[str, Any]:
    """A filter on commerce event payloads: a condition on one field, or conditions joined by $and / $or."""
    if not isinstance(value, Mapping):
        raise ValidationError("Must be an object.")
    if depth >= FILTER_MAX_DEPTH:
        raise ValidationError(f"Filters nest at most {FILTER_MAX_DEPTH} levels deep.")
    op = value.get("op")
    if op in FILTER_LOGICAL_OPS:
        conditions = value.get("conditions")
        if not isinstance(conditions, list) or not conditions:
            raise ValidationError({"conditions": ["Must be a non-empty list of filters."]})
        checked: list[dict[str, Any]] = []
        errors: dict[str, Any] = {}
        for i, condition in enumerate(conditions):
            try:
                checked.append(_commerce_event_filter(condition, depth + 1))
            except ValidationError as exc:
                errors[str(i)] = exc.detail
        if errors:
            raise ValidationError({"conditions": errors})
        return {"op": op, "conditions": checked}
    left = value.get("left")
    if not isinstance(left, str) or not left or "\x00" in left:
        raise ValidationError({"left": ["Must be the dot path of a payload field."]})
    if op in FILTER_UNARY_OPS:
        return {"left": left, "op": op}
    right = value.get("right")
    if op in FILTER_SCALAR_OPS:
        if not _is_scalar(right):
            raise ValidationError({"right": ["Must be a string, number or boolean."]})
        return {"left": left, "op": op, "right": right}
    if op in FILTER_LIST_OPS:
        if not isinstance(right, list) or not right or not all(_is_scalar(item) for item in right):
            raise ValidationError({"right": ["Must be a non-empty list of strings, numbers or booleans."]})
        return {"left": left, "op": op, "right": right}
    raise ValidationError({"op": [f"Must be one of {', '.join(FILTER_OPS)}."]})


def _is_scalar(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, float):
        return math.isfinite(value)  # 1e999 parses as infinity, which JSON columns refuse
    return isinstance(value, bool | int)


class CommerceEventFilter(serializers.Field):  # type: ignore[type-arg]
    def to_internal_value(self, data: Any) -> dict[str, Any]:
        return _commerce_event_filter(data)

    def to_representation(self, value: Any) -> Any:
        return value


class CommerceEvents(serializers.Field):  # type: ignore[type-arg]
    """The events that trigger an agent: a list of event names (upstream also documents a single string)."""

    def to_internal_value(self, data: Any) -> str | list[str]:
        names = [data] if isinstance(data, str) else data
        if not isinstance(names, list) or not names:
            raise ValidationError("Must be a non-empty list of event names.")
        checked = [serializers.CharField(max_length=255).run_validation(name) for name in names]
        return data if isinstance(data, str) else checked

    def to_representation(self, value: Any) -> Any:
        return value


class CommerceEventsTriggerConfig(ApiSerializer):
    events = CommerceEvents()
    filter = CommerceEventFilter(required=False)


class CommerceEventsTrigger(ApiSerializer):
    config = CommerceEventsTriggerConfig()


TRIGGERS: dict[str, Callable[[], serializers.BaseSerializer[Any]]] = {
    **dict.fromkeys(("endpoint", "slack", "teams"), Empty),  # triggers without a configuration
    COMMERCE_EVENTS: CommerceEventsTrigger,
}


class _Llm(ApiSerializer):
    model = text_field(max_length=255, help_text="The provider's model name, such as gpt-4.1-mini.")
    temperature = serializers.FloatField(
        min_value=0.1, max_value=1.0, required=False, help_text="From 0.1 (focused) to 1.0 (varied)."
    )
    maxTokens = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, help_text="The longest answer, in tokens."
    )


class ApiKeyLlm(_Llm):
    token = IdRef(help_text="The token holding the provider's API key.")


class SelfHostedParams(AuthorizedEndpoint):
    oauth = IdRef(required=False)


class SelfHostedLlm(_Llm):
    baseProvider = choice_field(
        ["ANTHROPIC", "GOOGLE", "OPENAI"], required=False, help_text="Whose API the self-hosted model speaks."
    )
    selfHostedParams = SelfHostedParams(label="Self-hosted model")


LLMS: dict[str, Callable[[], serializers.BaseSerializer[Any]]] = {
    "emporix_openai": _Llm,
    **dict.fromkeys(API_KEY_PROVIDERS, ApiKeyLlm),
    **dict.fromkeys(SELF_HOSTED_PROVIDERS, SelfHostedLlm),
}


class AttachedServer(ApiSerializer):
    mcpServer = IdRef()


class AttachedDynamicServer(AttachedServer):
    tools = serializers.ListField(child=text_field(max_length=255), required=False)


class PredefinedServer(ApiSerializer):
    domain = choice_field(PREDEFINED_DOMAINS)
    tools = serializers.ListField(child=text_field(max_length=255), required=False)


ATTACHMENTS: dict[str, Callable[[], serializers.BaseSerializer[Any]]] = {
    "custom": AttachedServer,
    "dynamic": AttachedDynamicServer,
    "predefined": PredefinedServer,
}


class NativeToolRef(ApiSerializer):
    id = text_field(max_length=ID_MAX_LENGTH)
    allowedOperations = serializers.ListField(
        child=choice_field(sorted({*SLACK_OPERATIONS, *TEAMS_OPERATIONS})), required=False
    )


class Collaboration(ApiSerializer):
    agentId = text_field(max_length=ID_MAX_LENGTH)
    description = text_field(required=False, allow_blank=True)


class AgentSerializer(ApiSerializer):
    # Labels and help texts are the console's too: its forms are generated from these serializers.
    name = Localized(allow_blank=False, allow_empty=False, help_text="The agent's name, by language.")
    description = Localized(allow_blank=True, required=False, help_text="What the agent is for, by language.")
    type = choice_field(Agent.AgentType.values, required=False)
    enabled = serializers.BooleanField(default=False, help_text="Only an enabled agent answers chats and events.")
    userPrompt = text_field(
        allow_blank=True, label="Prompt", help_text="How the agent works, what it may use, with examples."
    )
    triggers = serializers.ListField(child=ByKey(TRIGGERS), help_text="What starts a conversation.")
    llmConfig = ByKey(LLMS, key="provider", label="Model", help_text="The language model the agent uses.")
    mcpServers = serializers.ListField(child=ByKey(ATTACHMENTS), label="MCP servers")
    nativeTools = NativeToolRef(many=True, required=False, label="Tools")
    agentCollaborations = Collaboration(many=True, required=False, label="Hands off to")
    maxRecursionLimit = serializers.IntegerField(
        min_value=1,
        max_value=50,
        default=20,
        label="Step limit",
        help_text="The most reasoning steps in one task (1-50).",
    )
    enabledMemory = serializers.BooleanField(
        default=False, label="Memory", help_text="A session remembers its earlier calls."
    )
    requiredScopes = serializers.ListField(
        child=choice_field(CALLER_TYPES),
        required=False,
        label="Callers",
        help_text="The kinds of caller allowed to run the agent.",
    )
    icon = text_field(max_length=255, required=False, allow_blank=True)
    tags = serializers.ListField(child=text_field(max_length=255), required=False, help_text="One per line.")
    outputFormat = text_field(
        required=False,
        allow_blank=True,
        validators=[json_text],
        help_text="A JSON Schema the answers follow; empty for free text.",
    )
    handOff = serializers.BooleanField(
        required=False, label="Only for other agents", help_text="It works only for the agents that hand off to it."
    )
    metadata = Metadata(required=False)

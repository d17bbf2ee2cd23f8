"""Validation of upserted agents, tools, MCP servers and tokens.

What comes out is the resource's stored representation: only the fields the API knows (upstream clients send
more, which is dropped rather than refused), defaults filled in, `null` in an optional field taken as absent.
Errors name their field as a dot path (`config.databaseConfig.token.id`, `mcpServers.1.mcpServer.id`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from apps.agents.models import Agent, Kind, McpServer, Tool
from apps.core.ids import ID_MAX_LENGTH

NAME_MAX_LENGTH = 500  # the name column
TOKEN_VALUE_MAX_LENGTH = 16_384

SLACK_OPERATIONS = ("sendMessage", "createChannel", "inviteParticipants", "collaborateOnChannel")
TEAMS_OPERATIONS = (
    "sendMessage",
    "createChat",
    "createChannel",
    "inviteParticipants",
    "collaborateOnChannel",
    "collaborateOnChat",
)
CALLER_TYPES = ("anonymous", "customer", "employee", "integration")
PREDEFINED_DOMAINS = ("customer", "extensibility", "order", "product", "frontend")
API_KEY_PROVIDERS = ("openai", "google", "anthropic")
SELF_HOSTED_PROVIDERS = ("self_hosted_ollama", "self_hosted_vllm")
LLM_PROVIDERS = ("emporix_openai", *API_KEY_PROVIDERS, *SELF_HOSTED_PROVIDERS)
TRANSPORTS = ("streamable_http", "sse")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Language tags such as en, de, en-US, zh_Hant.
_LOCALE = re.compile(r"[A-Za-z0-9]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")
_FILTER_MAX_DEPTH = 8


def _text(**kwargs: Any) -> serializers.CharField:
    # Prompts and names are stored as sent: no trimming.
    return serializers.CharField(trim_whitespace=False, **kwargs)


def _url(**kwargs: Any) -> serializers.CharField:
    return _text(validators=[_http_url], **kwargs)


def _http_url(value: str) -> None:
    # Not Django's URLValidator: self-hosted services live at names such as http://mcp:8080 that it refuses.
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value) or len(value) > 2048:
        raise ValidationError("Enter an http:// or https:// URL.")


def _json_text(value: str) -> None:
    try:
        json.loads(value)
    except ValueError:
        raise ValidationError("Must be a JSON document given as a string.") from None


def _choice(choices: tuple[str, ...] | list[str], **kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=list(choices), **kwargs)


class ApiSerializer(serializers.Serializer[Any]):
    """Unknown fields are ignored (DRF's default); `null` in an optional field means the field is absent."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = {
                key: value
                for key, value in data.items()
                if value is not None or (key in self.fields and self.fields[key].required)
            }
        return super().to_internal_value(data)


class IdRef(ApiSerializer):
    """A reference to another resource, `{"id": ...}`; the rest of an expanded object is dropped."""

    id = _text(max_length=ID_MAX_LENGTH)


class Empty(ApiSerializer):
    pass


def _by_key(data: Any, variants: Mapping[str, Callable[[], serializers.BaseSerializer[Any]]], key: str) -> Any:
    """Validate an object whose fields depend on the value of its `key` member."""
    if not isinstance(data, Mapping):
        raise ValidationError("Must be an object.")
    chosen = data.get(key)
    if chosen is None:
        raise ValidationError({key: ["This field is required."]})
    if not isinstance(chosen, str) or chosen not in variants:
        raise ValidationError({key: [f"Must be one of: {', '.join(variants)}."]})
    validated = variants[chosen]().run_validation(data)
    return {key: chosen, **validated}


class ByKey(serializers.Field):  # type: ignore[type-arg]
    """A field holding one of several object shapes, told apart by one member (`type`, `provider`)."""

    def __init__(
        self, variants: Mapping[str, Callable[[], serializers.BaseSerializer[Any]]], key: str = "type", **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.variants = variants
        self.key = key

    def to_internal_value(self, data: Any) -> Any:
        return _by_key(data, self.variants, self.key)

    def to_representation(self, value: Any) -> Any:
        return value


class Localized(serializers.DictField):
    """Texts by language, `{"en": "...", "de": "..."}`."""

    def __init__(self, *, allow_blank: bool, **kw: Any) -> None:
        super().__init__(child=_text(allow_blank=allow_blank, max_length=NAME_MAX_LENGTH * 20), **kw)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, Mapping):
            bad = [key for key in data if not isinstance(key, str) or not _LOCALE.fullmatch(key)]
            if bad:
                raise ValidationError(f"Keys must be language codes such as en or de-CH; not: {bad[0]!r}."[:300])
        value: dict[str, str] = super().to_internal_value(data)
        return value


class Metadata(ApiSerializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)


# --- tools -------------------------------------------------------------------------------------------------------


class SlackConfig(ApiSerializer):
    teamId = _text(max_length=255)
    defaultInboundAgentId = _text(max_length=ID_MAX_LENGTH, required=False)
    allowedOperations = serializers.ListField(child=_choice(SLACK_OPERATIONS), required=False)
    # `botToken` (a raw Slack secret upstream accepts here) is not declared: it is dropped, never stored.


class TeamsConfig(ApiSerializer):
    teamId = _text(max_length=255)
    tenantId = _text(max_length=255, required=False)
    defaultInboundAgentId = _text(max_length=ID_MAX_LENGTH, required=False)
    allowedOperations = serializers.ListField(child=_choice(TEAMS_OPERATIONS), required=False)


class RagCustomDatabase(ApiSerializer):
    url = _url()
    type = _choice(["qdrant"])
    entityType = _choice(["product"])
    collectionName = _text(max_length=255)
    token = IdRef()


class RagCustomEmbedding(ApiSerializer):
    model = _text(max_length=255)
    token = IdRef()


class RagCustomConfig(ApiSerializer):
    prompt = _text()
    maxResults = serializers.IntegerField(min_value=1, max_value=1000, default=5)
    databaseConfig = RagCustomDatabase()
    embeddingConfig = RagCustomEmbedding()


class IndexedField(ApiSerializer):
    name = _text(max_length=255, required=False)
    key = _text(max_length=255)


class FilterField(ApiSerializer):
    description = _text(required=False, allow_blank=True)
    key = _text(max_length=255)


class HostedEmbedding(ApiSerializer):
    model = _text(max_length=255)
    dimensions = serializers.IntegerField(min_value=128, max_value=4096)
    token = IdRef()


class OllamaEmbedding(HostedEmbedding):
    url = _url()


class RagEmporixConfig(ApiSerializer):
    prompt = _text()
    entityType = _text(max_length=255)
    indexedFields = IndexedField(many=True, allow_empty=False)
    filterFields = FilterField(many=True, required=False)
    embeddingConfig = ByKey(
        {"emporix_openai": Empty, "openai": HostedEmbedding, "self_hosted_ollama": OllamaEmbedding}, key="provider"
    )


class _Tool(ApiSerializer):
    type = _choice(Tool.Type.values)
    name = _text(max_length=NAME_MAX_LENGTH)
    enabled = serializers.BooleanField(default=False)
    metadata = Metadata(required=False)


class SlackTool(_Tool):
    config = SlackConfig()


class TeamsTool(_Tool):
    config = TeamsConfig()


class RagCustomTool(_Tool):
    config = RagCustomConfig()


class RagEmporixTool(_Tool):
    config = RagEmporixConfig()


TOOLS: dict[str, Callable[[], serializers.BaseSerializer[Any]]] = {
    "slack": SlackTool,
    "rag_custom": RagCustomTool,
    "rag_emporix": RagEmporixTool,
    "teams": TeamsTool,
}


# --- MCP servers -------------------------------------------------------------------------------------------------


class McpServerConfig(ApiSerializer):
    url = _url()
    authorizationHeaderName = _text(max_length=255, required=False)
    authorizationHeaderToken = IdRef(required=False)


class McpInvocation(ApiSerializer):
    functionId = _text(max_length=255)
    method = _choice(HTTP_METHODS)
    argsLocation = _choice(["body", "query"], required=False)


class McpToolConfig(ApiSerializer):
    requiredScopes = serializers.ListField(child=_text(max_length=255), required=False)
    inputSchema = _text(validators=[_json_text])
    invocation = McpInvocation()


class McpTool(ApiSerializer):
    name = _text(max_length=255, validators=[RegexValidator(r"^\S+$", "Must not contain whitespace.")])
    description = _text(required=False, allow_blank=True)
    prompt = _text()
    enabled = serializers.BooleanField(default=False)
    config = McpToolConfig()


class _McpServer(ApiSerializer):
    name = _text(max_length=NAME_MAX_LENGTH)
    enabled = serializers.BooleanField(default=False)
    metadata = Metadata(required=False)


class CustomMcpServer(_McpServer):
    transport = _choice(TRANSPORTS)
    config = McpServerConfig()


class DynamicMcpServer(_McpServer):
    transport = _choice(TRANSPORTS, required=False)
    tools = McpTool(many=True)

    def validate_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [tool["name"] for tool in tools]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValidationError(f"Tool names must be unique; repeated: {', '.join(duplicates)}.")
        return tools


MCP_SERVERS: dict[str, Callable[[], serializers.BaseSerializer[Any]]] = {
    McpServer.Type.CUSTOM: CustomMcpServer,
    McpServer.Type.DYNAMIC: DynamicMcpServer,
}


# --- agents ------------------------------------------------------------------------------------------------------


def _commerce_event_filter(value: Any, depth: int = 0) -> dict[str, Any]:
    """A filter on commerce event payloads: a condition on one field, or conditions joined by $and / $or."""
    if not isinstance(value, Mapping):
        raise ValidationError("Must be an object.")
    if depth >= _FILTER_MAX_DEPTH:
        raise ValidationError(f"Filters nest at most {_FILTER_MAX_DEPTH} levels deep.")
    op = value.get("op")
    if op in ("$and", "$or"):
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
    if op in ("$exists", "$notExists", "$isEmpty", "$notEmpty"):
        return {"left": left, "op": op}
    right = value.get("right")
    if op in ("$eq", "$ne"):
        if not _is_scalar(right):
            raise ValidationError({"right": ["Must be a string, number or boolean."]})
        return {"left": left, "op": op, "right": right}
    if op in ("$in", "$notIn"):
        if not isinstance(right, list) or not right or not all(_is_scalar(item) for item in right):
            raise ValidationError({"right": ["Must be a non-empty list of strings, numbers or booleans."]})
        return {"left": left, "op": op, "right": right}
    raise ValidationError({"op": ["Must be one of $and, $or, $eq, $ne, $in, $notIn, $exists, $notExists, ..."]})


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
    "endpoint": Empty,
    "slack": Empty,
    "teams": Empty,
    "commerce_events": CommerceEventsTrigger,
}


class _Llm(ApiSerializer):
    model = _text(max_length=255)
    temperature = serializers.FloatField(min_value=0.1, max_value=1.0, required=False)
    maxTokens = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)


class ApiKeyLlm(_Llm):
    token = IdRef()


class SelfHostedParams(ApiSerializer):
    url = _url()
    authorizationHeaderName = _text(max_length=255, required=False)
    authorizationHeaderToken = IdRef(required=False)
    oauth = IdRef(required=False)


class SelfHostedLlm(_Llm):
    baseProvider = _choice(["ANTHROPIC", "GOOGLE", "OPENAI"], required=False)
    selfHostedParams = SelfHostedParams()


LLMS: dict[str, Callable[[], serializers.BaseSerializer[Any]]] = {
    "emporix_openai": _Llm,
    **dict.fromkeys(API_KEY_PROVIDERS, ApiKeyLlm),
    **dict.fromkeys(SELF_HOSTED_PROVIDERS, SelfHostedLlm),
}


class AttachedServer(ApiSerializer):
    mcpServer = IdRef()


class AttachedDynamicServer(AttachedServer):
    tools = serializers.ListField(child=_text(max_length=255), required=False)


class PredefinedServer(ApiSerializer):
    domain = _choice(PREDEFINED_DOMAINS)
    tools = serializers.ListField(child=_text(max_length=255), required=False)


ATTACHMENTS: dict[str, Callable[[], serializers.BaseSerializer[Any]]] = {
    "custom": AttachedServer,
    "dynamic": AttachedDynamicServer,
    "predefined": PredefinedServer,
}


class NativeToolRef(ApiSerializer):
    id = _text(max_length=ID_MAX_LENGTH)
    allowedOperations = serializers.ListField(
        child=_choice(sorted({*SLACK_OPERATIONS, *TEAMS_OPERATIONS})), required=False
    )


class Collaboration(ApiSerializer):
    agentId = _text(max_length=ID_MAX_LENGTH)
    description = _text(required=False, allow_blank=True)


class AgentSerializer(ApiSerializer):
    name = Localized(allow_blank=False, allow_empty=False)
    description = Localized(allow_blank=True, required=False)
    type = _choice(Agent.AgentType.values, required=False)
    enabled = serializers.BooleanField(default=False)
    userPrompt = _text(allow_blank=True)
    triggers = serializers.ListField(child=ByKey(TRIGGERS))
    llmConfig = ByKey(LLMS, key="provider")
    mcpServers = serializers.ListField(child=ByKey(ATTACHMENTS))
    nativeTools = NativeToolRef(many=True, required=False)
    agentCollaborations = Collaboration(many=True, required=False)
    maxRecursionLimit = serializers.IntegerField(min_value=1, max_value=50, default=20)
    enabledMemory = serializers.BooleanField(default=False)
    requiredScopes = serializers.ListField(child=_choice(CALLER_TYPES), required=False)
    icon = _text(max_length=255, required=False, allow_blank=True)
    tags = serializers.ListField(child=_text(max_length=255), required=False)
    outputFormat = _text(required=False, allow_blank=True, validators=[_json_text])
    handOff = serializers.BooleanField(required=False)
    metadata = Metadata(required=False)


# --- tokens ------------------------------------------------------------------------------------------------------


class TokenSerializer(ApiSerializer):
    name = _text(max_length=NAME_MAX_LENGTH)
    # Write-only: it goes encrypted into its own column, never into the representation.
    value = _text(max_length=TOKEN_VALUE_MAX_LENGTH, required=False)
    metadata = Metadata(required=False)


# --- entry point -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upsert:
    """A validated upsert: the representation to store, the version the client based it on, and (tokens only)
    the secret value, kept out of `repr` so that it never reaches a log."""

    body: dict[str, Any]
    version: int | None
    token_value: str | None = field(default=None, repr=False)


def validate_upsert(kind: Kind, data: Any) -> Upsert:
    """Validate a PUT body for a resource of `kind`; raise ValidationError naming the fields at fault."""
    if not isinstance(data, Mapping):
        raise ValidationError({"body": ["The body must be a JSON object."]})
    if kind == Kind.TOOL:
        validated = _by_key(data, TOOLS, "type")
    elif kind == Kind.MCP_SERVER:
        validated = _by_key({**data, "type": data.get("type") or McpServer.Type.CUSTOM}, MCP_SERVERS, "type")
    elif kind == Kind.AGENT:
        validated = AgentSerializer().run_validation(data)
    else:
        validated = TokenSerializer().run_validation(data)
    body = _plain(validated)
    version = (body.pop("metadata", None) or {}).get("version")
    token_value = body.pop("value", None) if kind == Kind.TOKEN else None
    return Upsert(body=body, version=version, token_value=token_value)


def _plain(value: Any) -> Any:
    """Validated data as plain dicts and lists (DRF hands out OrderedDicts and ReturnDicts)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value

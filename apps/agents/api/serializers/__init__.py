"""Validation of upserted agents, tools, MCP servers and tokens.

What comes out is the resource's stored representation: only the fields the API knows (upstream clients send
more, which is dropped rather than refused), defaults filled in, `null` in an optional field taken as absent.
Errors name their field as a dot path (`config.databaseConfig.token.id`, `mcpServers.1.mcpServer.id`).
The serializers of each kind live in the modules of this package; this one is the entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ValidationError

from apps.agents.api.serializers.agents import AgentSerializer
from apps.agents.api.serializers.base import (
    API_KEY_PROVIDERS,
    CALLER_TYPES,
    HTTP_METHODS,
    NAME_MAX_LENGTH,
    PREDEFINED_DOMAINS,
    SELF_HOSTED_PROVIDERS,
    SLACK_OPERATIONS,
    TEAMS_OPERATIONS,
    TOKEN_VALUE_MAX_LENGTH,
    TRANSPORTS,
    ApiSerializer,
    Metadata,
    by_key,
    text_field,
)
from apps.agents.api.serializers.tools import MCP_SERVERS, TOOLS
from apps.agents.models import Kind, McpServer
from apps.agents.services import Upsert

__all__ = [
    "API_KEY_PROVIDERS",
    "CALLER_TYPES",
    "HTTP_METHODS",
    "NAME_MAX_LENGTH",
    "PREDEFINED_DOMAINS",
    "SELF_HOSTED_PROVIDERS",
    "SLACK_OPERATIONS",
    "TEAMS_OPERATIONS",
    "TOKEN_VALUE_MAX_LENGTH",
    "TRANSPORTS",
    "Upsert",
    "validate_upsert",
]


class TokenSerializer(ApiSerializer):
    name = text_field(max_length=NAME_MAX_LENGTH)
    # Write-only: it goes encrypted into its own column, never into the representation.
    value = text_field(max_length=TOKEN_VALUE_MAX_LENGTH, required=False)
    metadata = Metadata(required=False)


def validate_upsert(kind: Kind, data: Any) -> Upsert:
    """Validate a PUT body for a resource of `kind`; raise ValidationError naming the fields at fault."""
    if not isinstance(data, Mapping):
        raise ValidationError({"body": ["The body must be a JSON object."]})
    if kind == Kind.TOOL:
        validated = by_key(data, TOOLS, "type")
    elif kind == Kind.MCP_SERVER:
        validated = by_key({**data, "type": data.get("type") or McpServer.Type.CUSTOM}, MCP_SERVERS, "type")
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

"""Tools and MCP servers, one serializer per `type`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from apps.agents.api.serializers.base import (
    HTTP_METHODS,
    NAME_MAX_LENGTH,
    SLACK_OPERATIONS,
    TEAMS_OPERATIONS,
    TRANSPORTS,
    ApiSerializer,
    AuthorizedEndpoint,
    ByKey,
    Empty,
    IdRef,
    Metadata,
    choice_field,
    json_text,
    text_field,
    url_field,
)
from apps.agents.models import McpServer, Tool
from apps.core.ids import ID_MAX_LENGTH


class SlackConfig(ApiSerializer):
    teamId = text_field(max_length=255, label="Team id", help_text="The Slack workspace, such as T0445953.")
    defaultInboundAgentId = text_field(
        max_length=ID_MAX_LENGTH, required=False, label="Inbound agent id", help_text="Answers messages sent to it."
    )
    allowedOperations = serializers.ListField(
        child=choice_field(SLACK_OPERATIONS), required=False, help_text="None ticked: every operation."
    )
    # `botToken` (a raw Slack secret upstream accepts here) is not declared: it is dropped, never stored.


class TeamsConfig(ApiSerializer):
    teamId = text_field(max_length=255, label="Team id")
    tenantId = text_field(max_length=255, required=False, label="Microsoft tenant id")
    defaultInboundAgentId = text_field(
        max_length=ID_MAX_LENGTH, required=False, label="Inbound agent id", help_text="Answers messages sent to it."
    )
    allowedOperations = serializers.ListField(
        child=choice_field(TEAMS_OPERATIONS), required=False, help_text="None ticked: every operation."
    )


class RagCustomDatabase(ApiSerializer):
    url = url_field()
    type = choice_field(["qdrant"])
    entityType = choice_field(["product"])
    collectionName = text_field(max_length=255)
    token = IdRef()


class RagCustomEmbedding(ApiSerializer):
    model = text_field(max_length=255)
    token = IdRef()


class RagCustomConfig(ApiSerializer):
    prompt = text_field(help_text="Tells the agent when and why to search.")
    maxResults = serializers.IntegerField(min_value=1, max_value=1000, default=5, help_text="1 to 1000.")
    databaseConfig = RagCustomDatabase()
    embeddingConfig = RagCustomEmbedding()


class IndexedField(ApiSerializer):
    name = text_field(max_length=255, required=False)
    key = text_field(max_length=255)


class FilterField(ApiSerializer):
    description = text_field(required=False, allow_blank=True)
    key = text_field(max_length=255)


class HostedEmbedding(ApiSerializer):
    model = text_field(max_length=255)
    dimensions = serializers.IntegerField(min_value=128, max_value=4096)
    token = IdRef()


class OllamaEmbedding(HostedEmbedding):
    url = url_field()


class RagEmporixConfig(ApiSerializer):
    prompt = text_field()
    entityType = text_field(max_length=255)
    indexedFields = IndexedField(many=True, allow_empty=False)
    filterFields = FilterField(many=True, required=False)
    embeddingConfig = ByKey(
        {"emporix_openai": Empty, "openai": HostedEmbedding, "self_hosted_ollama": OllamaEmbedding}, key="provider"
    )


class _Tool(ApiSerializer):
    type = choice_field(Tool.Type.values)
    name = text_field(max_length=NAME_MAX_LENGTH)
    enabled = serializers.BooleanField(default=False, help_text="Agents use only enabled tools.")
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


class McpServerConfig(AuthorizedEndpoint):
    pass


class McpInvocation(ApiSerializer):
    functionId = text_field(max_length=255)
    method = choice_field(HTTP_METHODS)
    argsLocation = choice_field(["body", "query"], required=False)


class McpToolConfig(ApiSerializer):
    requiredScopes = serializers.ListField(child=text_field(max_length=255), required=False)
    inputSchema = text_field(validators=[json_text])
    invocation = McpInvocation()


class McpTool(ApiSerializer):
    name = text_field(max_length=255, validators=[RegexValidator(r"^\S+$", "Must not contain whitespace.")])
    description = text_field(required=False, allow_blank=True)
    prompt = text_field()
    enabled = serializers.BooleanField(default=False)
    config = McpToolConfig()


class _McpServer(ApiSerializer):
    name = text_field(max_length=NAME_MAX_LENGTH)
    enabled = serializers.BooleanField(default=False, help_text="Agents use only enabled MCP servers.")
    metadata = Metadata(required=False)


class CustomMcpServer(_McpServer):
    transport = choice_field(TRANSPORTS, help_text="How agents talk to the server (sse is deprecated).")
    config = McpServerConfig(label="Connection")


class DynamicMcpServer(_McpServer):
    transport = choice_field(TRANSPORTS, required=False)
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

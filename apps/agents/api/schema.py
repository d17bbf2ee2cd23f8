"""OpenAPI components of the agent, tool, MCP server and token operations, in upstream's structure, our wording.

The shared components (ErrorMessage, ErrorMessageFault, MetadataRequest, MetadataResponse, AgentType,
QParamSearchBody) come from the Job operations' module.
"""

from __future__ import annotations

from typing import Any

from apps.agents.api.serializers import (
    API_KEY_PROVIDERS,
    CALLER_TYPES,
    HTTP_METHODS,
    PREDEFINED_DOMAINS,
    SELF_HOSTED_PROVIDERS,
    SLACK_OPERATIONS,
    TEAMS_OPERATIONS,
    TRANSPORTS,
)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _str(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _bool(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "boolean", "description": description, **extra}


def _int(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "integer", "description": description, **extra}


def _enum(description: str, values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"type": "string", "description": description, "enum": list(values)}


def _strings(description: str, **items: Any) -> dict[str, Any]:
    return {"type": "array", "description": description, "items": {"type": "string", **items}}


def _object(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = required
    return schema


def _stored(variant: dict[str, Any]) -> dict[str, Any]:
    """A request shape as the service answers it: with the id and full metadata, and nothing required, since
    `fields` may pick any part (and deleting a token with force removes the references to it)."""
    properties = {"id": _str("The resource's id."), **variant["properties"], "metadata": ref("MetadataResponse")}
    stored: dict[str, Any] = _nothing_required({**variant, "properties": properties})
    return stored


def _nothing_required(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_nothing_required(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        key: _nothing_required(value)
        for key, value in schema.items()
        if key not in ("required", "minItems", "minProperties")
    }


def _request(variant: dict[str, Any]) -> dict[str, Any]:
    properties = {**variant["properties"], "metadata": ref("MetadataRequest")}
    return {**variant, "properties": properties}


_ID_REF = ref("IdReference")
_NAME = _str("Display name.", maxLength=500)
_ENABLED = _bool("Whether it may be used.", default=False)

# --- tools -------------------------------------------------------------------------------------------------------

_TOOL_CONFIGS = {
    "slack": _object(
        {
            "teamId": _str("The Slack workspace (team) the tool works in."),
            "defaultInboundAgentId": _str("The agent that answers Slack messages outside any known conversation."),
            "allowedOperations": {"type": "array", "items": _enum("A Slack operation.", SLACK_OPERATIONS)},
        },
        ["teamId"],
        description="Slack settings. A bot token sent here is not kept by this service.",
    ),
    "teams": _object(
        {
            "teamId": _str("The Microsoft Teams team the tool works in."),
            "tenantId": _str("The Azure AD tenant of that team."),
            "defaultInboundAgentId": _str("The agent that answers Teams messages outside any known conversation."),
            "allowedOperations": {"type": "array", "items": _enum("A Teams operation.", TEAMS_OPERATIONS)},
        },
        ["teamId"],
    ),
    "rag_custom": _object(
        {
            "prompt": _str("Tells the agent when and why to search."),
            "maxResults": _int("How many matches a search returns.", minimum=1, maximum=1000, default=5),
            "databaseConfig": _object(
                {
                    "url": _str("Address of the vector database."),
                    "type": _enum("Kind of vector database.", ["qdrant"]),
                    "entityType": _enum("What the collection holds.", ["product"]),
                    "collectionName": _str("The collection to search."),
                    "token": _ID_REF,
                },
                ["url", "type", "entityType", "collectionName", "token"],
            ),
            "embeddingConfig": _object(
                {"model": _str("Embedding model applied to the question."), "token": _ID_REF},
                ["model", "token"],
            ),
        },
        ["prompt", "databaseConfig", "embeddingConfig"],
    ),
    "rag_emporix": _object(
        {
            "prompt": _str("Tells the agent when and why to search."),
            "entityType": _str("What is indexed: ORDER, PRODUCT or a custom entity type."),
            "indexedFields": {
                "type": "array",
                "minItems": 1,
                "description": "Fields whose values are embedded.",
                "items": _object(
                    {"name": _str("Label used in the embedded text."), "key": _str("Field key.")}, ["key"]
                ),
            },
            "filterFields": {
                "type": "array",
                "description": "Fields a search may filter on before matching.",
                "items": _object(
                    {"description": _str("What the field means, for the model."), "key": _str("Field key.")}, ["key"]
                ),
            },
            "embeddingConfig": _object(
                {
                    "provider": _enum("Who computes embeddings.", ["emporix_openai", "openai", "self_hosted_ollama"]),
                    "model": _str("Embedding model (openai, self_hosted_ollama)."),
                    "dimensions": _int("Embedding size (openai, self_hosted_ollama).", minimum=128, maximum=4096),
                    "url": _str("Address of the Ollama server (self_hosted_ollama)."),
                    "token": _ID_REF,
                },
                ["provider"],
            ),
        },
        ["prompt", "entityType", "indexedFields", "embeddingConfig"],
    ),
}


def _tool_variant(tool_type: str) -> dict[str, Any]:
    return _object(
        {
            "type": _enum("Kind of tool.", [tool_type]),
            "name": _NAME,
            "enabled": _ENABLED,
            "config": _TOOL_CONFIGS[tool_type],
        },
        ["type", "name", "config"],
    )


_TOOL_TYPES = ("slack", "rag_custom", "rag_emporix", "teams")

# --- MCP servers -------------------------------------------------------------------------------------------------

_CUSTOM_MCP = _object(
    {
        "type": _enum("A server of your own; the default.", ["custom"]),
        "name": _NAME,
        "enabled": _ENABLED,
        "transport": _enum("How agents talk to the server (sse is deprecated).", TRANSPORTS),
        "config": _object(
            {
                "url": _str("Address of the MCP server."),
                "authorizationHeaderName": _str("Header that carries the credential, such as Authorization."),
                "authorizationHeaderToken": _ID_REF,
            },
            ["url"],
        ),
    },
    ["name", "transport", "config"],
)
_MCP_TOOL = _object(
    {
        "name": _str("Unique within the server, without whitespace."),
        "description": _str("What the tool does."),
        "prompt": _str("Tells the agent when and why to call the tool."),
        "enabled": _ENABLED,
        "config": _object(
            {
                "requiredScopes": _strings("Scopes a caller needs to run the tool."),
                "inputSchema": _str("JSON Schema of the tool's input, as a JSON string."),
                "invocation": _object(
                    {
                        "functionId": _str("The function the tool calls."),
                        "method": _enum("HTTP method of the call.", HTTP_METHODS),
                        "argsLocation": _enum("Where the arguments go; body when absent.", ["body", "query"]),
                    },
                    ["functionId", "method"],
                ),
            },
            ["inputSchema", "invocation"],
        ),
    },
    ["name", "prompt", "config"],
)
_DYNAMIC_MCP = _object(
    {
        "type": _enum("A server whose tools call functions.", ["dynamic"]),
        "name": _NAME,
        "enabled": _ENABLED,
        "transport": _enum("How agents talk to the server.", TRANSPORTS),
        "tools": {"type": "array", "description": "The tools the server offers.", "items": _MCP_TOOL},
    },
    ["name", "type", "tools"],
)

# --- agents ------------------------------------------------------------------------------------------------------

_LOCALIZED = {"type": "object", "additionalProperties": {"type": "string"}}
_TRIGGER = _object(
    {
        "type": _enum("What starts the agent.", ["endpoint", "slack", "teams", "commerce_events"]),
        "config": _object(
            {
                "events": {
                    "description": "The commerce events that start the agent.",
                    "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
                },
                "filter": {
                    "type": "object",
                    "description": "Condition on the event payload: {left, op, right} or {op: $and|$or, conditions}.",
                },
            },
            ["events"],
            description="Only for commerce_events.",
        ),
    },
    ["type"],
)
_LLM = _object(
    {
        "provider": _enum("Who runs the model.", ["emporix_openai", *API_KEY_PROVIDERS, *SELF_HOSTED_PROVIDERS]),
        "model": _str("Name of the model."),
        "temperature": {"type": "number", "minimum": 0.1, "maximum": 1.0, "description": "Sampling temperature."},
        "maxTokens": _int("Token budget of one request.", minimum=1),
        "token": {**_ID_REF, "description": "The API key (openai, google, anthropic)."},
        "baseProvider": _enum("API the self-hosted model speaks.", ["ANTHROPIC", "GOOGLE", "OPENAI"]),
        "selfHostedParams": _object(
            {
                "url": _str("Address of the self-hosted model."),
                "authorizationHeaderName": _str("Header that carries the credential."),
                "authorizationHeaderToken": _ID_REF,
                "oauth": _ID_REF,
            },
            ["url"],
            description="Only for self-hosted providers, where it is required.",
        ),
    },
    ["provider", "model"],
)
_ATTACHED_SERVER = _object(
    {
        "type": _enum(
            "custom and dynamic name a server of the tenant; predefined a built-in one.",
            ["custom", "dynamic", "predefined"],
        ),
        "mcpServer": _ID_REF,
        "domain": _enum("The built-in server (predefined).", PREDEFINED_DOMAINS),
        "tools": _strings("Only these tools of the server; all when absent (dynamic, predefined)."),
    },
    ["type"],
)
_AGENT_PROPERTIES: dict[str, Any] = {
    "name": {**_LOCALIZED, "description": "Name by language code; at least one.", "minProperties": 1},
    "description": {**_LOCALIZED, "description": "Description by language code."},
    "type": ref("AgentType"),
    "enabled": _ENABLED,
    "userPrompt": _str("How the agent works, what it may use, with examples."),
    "triggers": {"type": "array", "items": _TRIGGER},
    "llmConfig": _LLM,
    "mcpServers": {"type": "array", "items": _ATTACHED_SERVER},
    "nativeTools": {
        "type": "array",
        "items": _object(
            {
                "id": _str("A tool of the tenant."),
                "allowedOperations": _strings("Narrows the tool's operations for this agent."),
            },
            ["id"],
        ),
    },
    "agentCollaborations": {
        "type": "array",
        "description": "Agents this one may hand work to.",
        "items": _object(
            {"agentId": _str("Another agent of the tenant."), "description": _str("When to.")}, ["agentId"]
        ),
    },
    "maxRecursionLimit": _int("Most reasoning steps in one task.", minimum=1, maximum=50, default=20),
    "enabledMemory": _bool("Whether a session remembers earlier calls.", default=False),
    "requiredScopes": {"type": "array", "items": _enum("A kind of caller allowed to run the agent.", CALLER_TYPES)},
    "icon": _str("Icon class."),
    "tags": _strings("Labels."),
    "outputFormat": _str("JSON Schema of the agent's answer, as a JSON string."),
    "handOff": _bool("Whether the agent only works for other agents."),
}
_AGENT = _object(_AGENT_PROPERTIES, ["name", "userPrompt", "triggers", "llmConfig", "mcpServers"])

_TOKEN = _object({"name": _NAME}, ["name"])

COMPONENTS: dict[str, dict[str, Any]] = {
    "IdResponse": _object({"id": _str("The id of the created resource.")}, ["id"]),
    "IdReference": _object({"id": _str("Id of a resource of the tenant.")}, ["id"]),
    "Agent": _stored(_AGENT),
    "AgentRequest": _request(_AGENT),
    "Tool": {"anyOf": [_stored(_tool_variant(tool_type)) for tool_type in _TOOL_TYPES]},
    "ToolRequest": {"oneOf": [_request(_tool_variant(tool_type)) for tool_type in _TOOL_TYPES]},
    "McpServer": {"anyOf": [_stored(_CUSTOM_MCP), _stored(_DYNAMIC_MCP)]},
    "McpServerRequest": {"oneOf": [_request(_CUSTOM_MCP), _request(_DYNAMIC_MCP)]},
    "Token": _stored(_TOKEN),
    "TokenRequest": _request(
        _object(
            {
                "name": _NAME,
                "value": _str(
                    "The secret. Required on create, then fixed: on replace it is ignored, whatever it holds. "
                    "Stored encrypted and never returned.",
                    writeOnly=True,
                ),
            },
            ["name"],
        )
    ),
}

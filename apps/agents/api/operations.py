"""The four kinds of resource the agents API serves, and the OpenAPI description of each one's operations:
its tag, its component and the operationIds upstream publishes. The views (apps/agents/api/views.py) are
decorated with what this module builds, so the generated document is the same for every kind but its names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view

from apps.agents.api.schema import ref
from apps.agents.models import Kind
from apps.agents.names import KIND_NAMES, with_article
from apps.core.api import ERROR_RESPONSES
from apps.core.openapi import FIELDS_PARAMETER, list_parameters

V = TypeVar("V", bound=Callable[..., Any])  # a view class


@dataclass(frozen=True)
class KindApi:
    kind: Kind
    title: str  # in messages: "Agent with id x not found."
    plural: str
    tag: str
    component: str
    id_kwarg: str
    # operationIds as upstream publishes them: list, search, retrieve, upsert, delete.
    operations: tuple[str, str, str, str, str]

    @property
    def noun(self) -> str:
        return KIND_NAMES[self.kind]


AGENTS = KindApi(
    Kind.AGENT,
    "Agent",
    "agents",
    "Agent",
    "Agent",
    "agent_id",
    ("GET-ai-list-agents", "POST-ai-search-agents", "GET-ai-retrieve-agent", "PUT-ai-agent", "DELETE-ai-delete-agent"),
)
TOOLS = KindApi(
    Kind.TOOL,
    "Tool",
    "tools",
    "Tool",
    "Tool",
    "tool_id",
    (
        "GET-ai-list-tools",
        "POST-ai-search-tools",
        "GET-ai-retrieve-tool",
        "PUT-ai-upsert-tool",
        "DELETE-ai-delete-tool",
    ),
)
MCP_SERVERS = KindApi(
    Kind.MCP_SERVER,
    "MCP server",
    "MCP servers",
    "MCP Server",
    "McpServer",
    "mcp_server_id",
    (
        "GET-ai-list-mcp-servers",
        "POST-ai-search-mcp-servers",
        "GET-ai-retrieve-mcp-server",
        "PUT-ai-upsert-mcp-server",
        "DELETE-ai-delete-mcp-server",
    ),
)
TOKENS = KindApi(
    Kind.TOKEN,
    "Token",
    "tokens",
    "Token",
    "Token",
    "token_id",
    (
        "GET-ai-list-tokens",
        "POST-ai-search-tokens",
        "GET-ai-retrieve-token",
        "PUT-ai-upsert-token",
        "DELETE-ai-delete-token",
    ),
)

_Q = OpenApiParameter("q", str, description="Query in the q grammar, e.g. `name:~support enabled:true`.")
_FORCE = OpenApiParameter(
    "force", bool, description="`true` deletes it even while others use it, unassigning it from them first."
)
_UPSERT = (
    "Creates the {noun} with this id, or replaces all of its data. With `metadata.version`, the change only applies "
    "to that version (optimistic locking). Fields this API does not know are ignored. Every resource referenced by "
    "id must exist in the tenant."
)
_DELETE = (
    "Deletes the {noun}. While other resources use it, that needs `force=true`, which first removes it from each of "
    "them."
)


def _many(api: KindApi) -> dict[str, Any]:
    return {"type": "array", "items": ref(api.component)}


def list_schema(api: KindApi) -> Callable[[V], V]:
    """The OpenAPI description of a kind's list view."""
    list_id = api.operations[0]
    return extend_schema_view(
        get=extend_schema(
            operation_id=list_id,
            summary=f"List {api.plural}",
            description=f"The tenant's {api.plural}, newest first, with the list parameters.",
            parameters=[_Q, *list_parameters(api.plural.capitalize())],
            responses={200: OpenApiResponse(_many(api), description=f"One page of {api.plural}."), **ERROR_RESPONSES},
            tags=[api.tag],
        )
    )


def search_schema(api: KindApi) -> Callable[[V], V]:
    """The OpenAPI description of a kind's search view (its GET, PUT and DELETE, on the resource whose id is
    "search", are left out of the document)."""
    search_id = api.operations[1]
    many = _many(api)
    return extend_schema_view(
        post=extend_schema(
            operation_id=search_id,
            summary=f"Search {api.plural}",
            description=f"The tenant's {api.plural} matching `q` from the body, with the list parameters.",
            parameters=list_parameters(api.plural.capitalize()),
            request={"application/json": ref("QParamSearchBody")},
            responses={
                200: OpenApiResponse(many, description=f"One page of matching {api.plural}."),
                **ERROR_RESPONSES,
            },
            tags=[api.tag],
        ),
        get=extend_schema(exclude=True),
        put=extend_schema(exclude=True),
        delete=extend_schema(exclude=True),
    )


def detail_schema(api: KindApi) -> Callable[[V], V]:
    """The OpenAPI description of a kind's get, upsert and delete."""
    _, _, retrieve_id, upsert_id, delete_id = api.operations
    not_found = {404: OpenApiResponse(ref("ErrorMessage"), description=f"No such {api.noun} in this tenant.")}
    one, a_noun = ref(api.component), with_article(api.noun)
    return extend_schema_view(
        get=extend_schema(
            operation_id=retrieve_id,
            summary=f"Get {a_noun}",
            parameters=[FIELDS_PARAMETER],
            responses={200: OpenApiResponse(one, description=f"The {api.noun}."), **ERROR_RESPONSES, **not_found},
            tags=[api.tag],
        ),
        put=extend_schema(
            operation_id=upsert_id,
            summary=f"Create or replace {a_noun}",
            description=_UPSERT.format(noun=api.noun),
            request={"application/json": ref(f"{api.component}Request")},
            responses={
                201: OpenApiResponse(ref("IdResponse"), description=f"The {api.noun} is created."),
                204: OpenApiResponse(description=f"The {api.noun} is replaced."),
                **ERROR_RESPONSES,
                404: OpenApiResponse(ref("ErrorMessage"), description="The path names no resource at all."),
                409: OpenApiResponse(ref("ErrorMessage"), description="metadata.version is not the stored one."),
            },
            tags=[api.tag],
        ),
        delete=extend_schema(
            operation_id=delete_id,
            summary=f"Delete {a_noun}",
            description=_DELETE.format(noun=api.noun),
            parameters=[_FORCE],
            responses={204: OpenApiResponse(description=f"The {api.noun} is deleted."), **ERROR_RESPONSES, **not_found},
            tags=[api.tag],
        ),
    )

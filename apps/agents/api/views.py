"""List, search, get, upsert and delete of agents, tools, MCP servers and tokens. Thin: validate, call a selector
or service, render. The four kinds share the views; each gets its own subclasses, for its URLs and its
operations in the OpenAPI document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from django.db import transaction
from django.db.models import Q
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Scope
from apps.agents import selectors, services
from apps.agents.api.schema import ref
from apps.agents.api.serializers import validate_upsert
from apps.agents.fields import FIELDS, WHOLE_OBJECTS
from apps.agents.models import Kind
from apps.agents.representation import AnyResource, metadata, representation
from apps.console.models import AuditEvent
from apps.console.services import audit_record_api
from apps.core.errors import ApiError
from apps.core.ids import id_problem, is_stored_id
from apps.core.listing import ListParams, filter_from_q, parse_fields, parse_list_params, project
from apps.core.openapi import FIELDS_PARAMETER, list_parameters
from apps.core.parsers import JsonParser
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_get

READ, MANAGE = Scope.AGENT_READ.value, Scope.AGENT_MANAGE.value
RESOURCE_SAVE, RESOURCE_DELETE = AuditEvent.Action.RESOURCE_SAVE, AuditEvent.Action.RESOURCE_DELETE


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
        return services.KIND_NAMES[self.kind]


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


# --- the operations ----------------------------------------------------------------------------------------------


def _represent(api: KindApi, resource: AnyResource) -> dict[str, Any]:
    if api.kind == Kind.TOKEN:
        # Named fields only: whatever else a token row might hold, its value above all, is never shown.
        return {"id": resource.public_id, "name": resource.name, "metadata": metadata(resource)}
    return representation(resource)


def _list_params(api: KindApi, request: Request) -> ListParams:
    fields = FIELDS[api.kind]
    return parse_list_params(
        request.query_params, request.headers, sortable=fields.sortable, tree=fields.tree, whole=WHOLE_OBJECTS
    )


def _list(api: KindApi, tenant: str, q: Any, params: ListParams) -> Response:
    filters: Q = filter_from_q(q, FIELDS[api.kind].searchable)
    rows = selectors.resource_list(tenant=tenant, kind=api.kind, filters=filters, params=params)
    response = Response([project(_represent(api, row), params.fields) for row in rows])
    if params.want_total:
        response["X-Total-Count"] = str(selectors.resource_count(tenant=tenant, kind=api.kind, filters=filters))
    return response


def _retrieve(api: KindApi, request: Request, tenant: str, public_id: str) -> Response:
    fields = parse_fields(request.query_params.get("fields"), FIELDS[api.kind].tree, WHOLE_OBJECTS)
    found = is_stored_id(public_id)
    resource = selectors.resource_get(tenant=tenant, kind=api.kind, public_id=public_id) if found else None
    if resource is None:
        raise _not_found(api, public_id)
    return Response(project(_represent(api, resource), fields))


@sensitive_variables("upsert")
def _upsert(api: KindApi, request: Request, tenant: str, public_id: str) -> Response:
    # Refused before the body is even read; an existing row whose id would be refused today (one stored before
    # ids were checked) cannot be replaced either, only read and deleted.
    problem = id_problem(public_id)
    if problem:
        raise ApiError(problem, field="id")
    upsert = validate_upsert(api.kind, request.data)
    owner = _tenant(tenant)
    try:
        with transaction.atomic():  # the write and its audit event, or neither
            created = services.resource_upsert(
                tenant=owner,
                kind=api.kind,
                public_id=public_id,
                body=upsert.body,
                version=upsert.version,
                token_value=upsert.token_value,
            )
            detail = {"kind": api.kind.value, "created": created}
            audit_record_api(
                principal=request.auth, tenant=owner, action=RESOURCE_SAVE, object_id=public_id, detail=detail
            )
    except services.VersionConflict as exc:
        raise ApiError(exc.message, code=409, field=exc.field) from None
    except services.ResourceError as exc:
        raise ApiError(exc.message, field=exc.field) from None
    return Response({"id": public_id}, status=201) if created else Response(status=204)


def _delete(api: KindApi, request: Request, tenant: str, public_id: str) -> Response:
    force = _flag(request.query_params.get("force"), "force")
    if not is_stored_id(public_id):
        raise _not_found(api, public_id)
    owner = _tenant(tenant)
    try:
        with transaction.atomic():  # the delete and its audit event, or neither
            detached = services.resource_delete(tenant=owner, kind=api.kind, public_id=public_id, force=force)
            detail = {
                "kind": api.kind.value,
                "force": force,
                "detachedFrom": [{"kind": d.kind.value, "id": d.public_id} for d in detached],
            }
            audit_record_api(
                principal=request.auth, tenant=owner, action=RESOURCE_DELETE, object_id=public_id, detail=detail
            )
    except services.ResourceNotFound:
        raise _not_found(api, public_id) from None
    except services.ResourceInUse as exc:
        details = [{"field": "force", "type": "in_use", "message": f"Used by {d}."} for d in exc.dependants]
        raise ApiError(exc.message, details=details) from None
    return Response(status=204)


def _flag(raw: str | None, name: str) -> bool:
    if raw is None:
        return False
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise ApiError(f"{name} must be true or false.", field=name)
    return value == "true"


def _tenant(name: str) -> Tenant:
    tenant = tenant_get(name=name)
    if tenant is None:  # the permission check has already matched the token's tenant; it was just deleted
        raise ApiError("The access token does not belong to this tenant.", code=403)
    return tenant


def _not_found(api: KindApi, public_id: str) -> ApiError:
    return ApiError(f"{api.title} with id {public_id} not found.", code=404, resource_id=public_id)


# --- the views ---------------------------------------------------------------------------------------------------


class ResourceListView(APIView):
    api: ClassVar[KindApi]
    required_scopes = {"GET": READ}

    def get(self, request: Request, tenant: str) -> Response:
        params = _list_params(self.api, request)
        return _list(self.api, tenant, request.query_params.get("q"), params)


class ResourceSearchView(APIView):
    parser_classes = [JsonParser]
    # `.../{kind}/search` is also the path of a resource whose id is "search" (ids are opaque and chosen by the
    # client): GET, PUT and DELETE on it mean that resource.
    api: ClassVar[KindApi]
    required_scopes = {"POST": READ, "GET": READ, "PUT": MANAGE, "DELETE": MANAGE}

    def post(self, request: Request, tenant: str) -> Response:
        params = _list_params(self.api, request)
        body = request.data
        if not isinstance(body, dict):
            raise ApiError('The body must be a JSON object such as {"q": "name:~support"}.', field="body")
        return _list(self.api, tenant, body.get("q"), params)

    @extend_schema(exclude=True)
    def get(self, request: Request, tenant: str) -> Response:
        return _retrieve(self.api, request, tenant, "search")

    @extend_schema(exclude=True)
    def put(self, request: Request, tenant: str) -> Response:
        return _upsert(self.api, request, tenant, "search")

    @extend_schema(exclude=True)
    def delete(self, request: Request, tenant: str) -> Response:
        return _delete(self.api, request, tenant, "search")


class ResourceDetailView(APIView):
    parser_classes = [JsonParser]
    api: ClassVar[KindApi]
    required_scopes = {"GET": READ, "PUT": MANAGE, "DELETE": MANAGE}

    def get(self, request: Request, tenant: str, **ids: str) -> Response:
        return _retrieve(self.api, request, tenant, ids[self.api.id_kwarg])

    def put(self, request: Request, tenant: str, **ids: str) -> Response:
        return _upsert(self.api, request, tenant, ids[self.api.id_kwarg])

    def delete(self, request: Request, tenant: str, **ids: str) -> Response:
        return _delete(self.api, request, tenant, ids[self.api.id_kwarg])


# --- one set of views per kind, with its OpenAPI description --------------------------------------------------------

_ERRORS: dict[int | str, Any] = {
    400: OpenApiResponse(ref("ErrorMessage"), description="The request is not valid."),
    401: OpenApiResponse(ref("ErrorMessageFault"), description="No valid access token."),
    403: OpenApiResponse(ref("ErrorMessage"), description="Another tenant's path, or a missing scope."),
}
_Q = OpenApiParameter("q", str, description="Query in the q grammar, e.g. `name:~support enabled:true`.")
_FORCE = OpenApiParameter(
    "force", bool, description="`true` deletes it even while others use it, unassigning it from them first."
)


@dataclass(frozen=True)
class Views:
    list: type[APIView]
    search: type[APIView]
    detail: type[APIView]


def _views(api: KindApi) -> Views:
    list_id, search_id, retrieve_id, upsert_id, delete_id = api.operations
    one, many = ref(api.component), {"type": "array", "items": ref(api.component)}
    not_found = {404: OpenApiResponse(ref("ErrorMessage"), description=f"No such {api.noun} in this tenant.")}
    common: dict[str, Any] = {"tags": [api.tag]}
    list_view = extend_schema_view(
        get=extend_schema(
            operation_id=list_id,
            summary=f"List {api.plural}",
            description=f"The tenant's {api.plural}, newest first, with the list parameters.",
            parameters=[_Q, *list_parameters(api.plural.capitalize())],
            responses={200: OpenApiResponse(many, description=f"One page of {api.plural}."), **_ERRORS},
            **common,
        )
    )(type(f"{api.component}ListView", (ResourceListView,), {"api": api}))
    search_view = extend_schema_view(
        post=extend_schema(
            operation_id=search_id,
            summary=f"Search {api.plural}",
            description=f"The tenant's {api.plural} matching `q` from the body, with the list parameters.",
            parameters=list_parameters(api.plural.capitalize()),
            request={"application/json": ref("QParamSearchBody")},
            responses={200: OpenApiResponse(many, description=f"One page of matching {api.plural}."), **_ERRORS},
            **common,
        )
    )(type(f"{api.component}SearchView", (ResourceSearchView,), {"api": api}))
    detail_view = extend_schema_view(
        get=extend_schema(
            operation_id=retrieve_id,
            summary=f"Get {_article(api)}",
            parameters=[FIELDS_PARAMETER],
            responses={200: OpenApiResponse(one, description=f"The {api.noun}."), **_ERRORS, **not_found},
            **common,
        ),
        put=extend_schema(
            operation_id=upsert_id,
            summary=f"Create or replace {_article(api)}",
            description=(
                f"Creates the {api.noun} with this id, or replaces all of its data. With `metadata.version`, the "
                "change only applies to that version (optimistic locking). Fields this API does not know are "
                "ignored. Every resource referenced by id must exist in the tenant."
            ),
            request={"application/json": ref(f"{api.component}Request")},
            responses={
                201: OpenApiResponse(ref("IdResponse"), description=f"The {api.noun} is created."),
                204: OpenApiResponse(description=f"The {api.noun} is replaced."),
                **_ERRORS,
                404: OpenApiResponse(ref("ErrorMessage"), description="The path names no resource at all."),
                409: OpenApiResponse(ref("ErrorMessage"), description="metadata.version is not the stored one."),
            },
            **common,
        ),
        delete=extend_schema(
            operation_id=delete_id,
            summary=f"Delete {_article(api)}",
            description=(
                f"Deletes the {api.noun}. While other resources use it, that needs `force=true`, which first "
                "removes it from each of them."
            ),
            parameters=[_FORCE],
            responses={204: OpenApiResponse(description=f"The {api.noun} is deleted."), **_ERRORS, **not_found},
            **common,
        ),
    )(type(f"{api.component}DetailView", (ResourceDetailView,), {"api": api}))
    return Views(list_view, search_view, detail_view)


def _article(api: KindApi) -> str:
    return f"an {api.noun}" if api.noun[0] in "aeiouM" else f"a {api.noun}"


VIEWS = {api.kind: _views(api) for api in (AGENTS, TOOLS, MCP_SERVERS, TOKENS)}

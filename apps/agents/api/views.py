"""List, search, get, upsert and delete of agents, tools, MCP servers and tokens. Thin: validate, call a selector
or service, render.

`ResourceView` holds the five operations, for the kind its subclass names in `api`; the list, search and detail
bases give them their HTTP methods, and each kind has its three named views, described in the OpenAPI document
by apps/agents/api/operations.py. The domain errors of the services (apps/agents/errors.py) become HTTP
answers here."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.views.decorators.debug import sensitive_variables
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Scope
from apps.agents import selectors, services
from apps.agents.api.operations import (
    AGENTS,
    MCP_SERVERS,
    TOKENS,
    TOOLS,
    KindApi,
    detail_schema,
    list_schema,
    search_schema,
)
from apps.agents.api.serializers import validate_upsert
from apps.agents.errors import ResourceError, ResourceInUse, ResourceNotFound, VersionConflict
from apps.agents.fields import FIELDS, WHOLE_OBJECTS
from apps.agents.representation import public_representation
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record_api
from apps.core.api import fields_param, list_params, not_found, path_tenant, query_flag, search_q
from apps.core.budget import statement_budget
from apps.core.errors import ApiError
from apps.core.ids import id_problem, is_stored_id
from apps.core.listing import ListParams, filter_from_q, project
from apps.core.parsers import JsonParser
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_get

READ, MANAGE = Scope.AGENT_READ.value, Scope.AGENT_MANAGE.value
RESOURCE_SAVE, RESOURCE_DELETE = AuditEvent.Action.RESOURCE_SAVE, AuditEvent.Action.RESOURCE_DELETE


# The operations on the resources of one kind, `api`; subclasses map HTTP methods onto them. (A comment, not a
# docstring: drf-spectacular would publish a view's docstring as the description of its operations.)
class ResourceView(APIView):
    api: ClassVar[KindApi]

    def page_params(self, request: Request) -> ListParams:
        fields = FIELDS[self.api.kind]
        return list_params(request, sortable=fields.sortable, tree=fields.tree, whole=WHOLE_OBJECTS)

    def list_answer(self, tenant: str, q: Any, params: ListParams) -> Response:
        kind = self.api.kind
        filters: Q = filter_from_q(q, FIELDS[kind].searchable)
        # The client chooses the filter, the sort and whether to count: each query gets the read budget.
        with statement_budget(settings.API_STATEMENT_TIMEOUT_MS):
            rows = selectors.resource_list(tenant=tenant, kind=kind, filters=filters, params=params)
            total = selectors.resource_count(tenant=tenant, kind=kind, filters=filters) if params.want_total else None
        response = Response([project(public_representation(row), params.fields) for row in rows])
        if total is not None:
            response["X-Total-Count"] = str(total)
        return response

    def retrieve(self, request: Request, tenant: str, public_id: str) -> Response:
        fields = fields_param(request, tree=FIELDS[self.api.kind].tree, whole=WHOLE_OBJECTS)
        found = is_stored_id(public_id)
        resource = selectors.resource_get(tenant=tenant, kind=self.api.kind, public_id=public_id) if found else None
        if resource is None:
            raise not_found(self.api.title, public_id)
        return Response(project(public_representation(resource), fields))

    @sensitive_variables("upsert")
    def upsert(self, request: Request, tenant: str, public_id: str) -> Response:
        # Refused before the body is even read; an existing row whose id would be refused today (one stored before
        # ids were checked) cannot be replaced either, only read and deleted.
        problem = id_problem(public_id)
        if problem:
            raise ApiError(problem, field="id")
        upsert = validate_upsert(self.api.kind, request.data)
        owner = _tenant(tenant)
        try:
            with transaction.atomic():  # the write and its audit event, or neither
                created = services.resource_upsert(tenant=owner, kind=self.api.kind, public_id=public_id, upsert=upsert)
                detail = {"kind": self.api.kind.value, "created": created}
                audit_record_api(
                    principal=request.auth, tenant=owner, action=RESOURCE_SAVE, object_id=public_id, detail=detail
                )
        except VersionConflict as exc:
            raise ApiError(exc.message, code=409, field=exc.field) from None
        except ResourceError as exc:
            raise ApiError(exc.message, field=exc.field) from None
        return Response({"id": public_id}, status=201) if created else Response(status=204)

    def remove(self, request: Request, tenant: str, public_id: str) -> Response:
        force = query_flag(request, "force")
        if not is_stored_id(public_id):
            raise not_found(self.api.title, public_id)
        owner = _tenant(tenant)
        try:
            with transaction.atomic():  # the delete and its audit event, or neither
                detached = services.resource_delete(tenant=owner, kind=self.api.kind, public_id=public_id, force=force)
                detail = {
                    "kind": self.api.kind.value,
                    "force": force,
                    "detachedFrom": [{"kind": d.kind.value, "id": d.public_id} for d in detached],
                }
                audit_record_api(
                    principal=request.auth, tenant=owner, action=RESOURCE_DELETE, object_id=public_id, detail=detail
                )
        except ResourceNotFound:
            raise not_found(self.api.title, public_id) from None
        except ResourceInUse as exc:
            details = [{"field": "force", "type": "in_use", "message": f"Used by {d}."} for d in exc.dependants]
            raise ApiError(exc.message, details=details) from None
        return Response(status=204)


def _tenant(name: str) -> Tenant:
    return path_tenant(tenant_get(name=name))


class ResourceListView(ResourceView):
    required_scopes = {"GET": READ}

    def get(self, request: Request, tenant: str) -> Response:
        params = self.page_params(request)
        return self.list_answer(tenant, request.query_params.get("q"), params)


class ResourceDetailView(ResourceView):
    parser_classes = [JsonParser]
    required_scopes = {"GET": READ, "PUT": MANAGE, "DELETE": MANAGE}

    def get(self, request: Request, tenant: str, **ids: str) -> Response:
        return self.retrieve(request, tenant, self.public_id(ids))

    def put(self, request: Request, tenant: str, **ids: str) -> Response:
        return self.upsert(request, tenant, self.public_id(ids))

    def delete(self, request: Request, tenant: str, **ids: str) -> Response:
        return self.remove(request, tenant, self.public_id(ids))

    def public_id(self, ids: dict[str, str]) -> str:
        return ids[self.api.id_kwarg]


class ResourceSearchView(ResourceDetailView):
    # `.../{kind}/search` is also the path of a resource whose id is "search" (ids are opaque and chosen by the
    # client): GET, PUT and DELETE on it mean that resource, as on any other resource's path.
    required_scopes = {"POST": READ, "GET": READ, "PUT": MANAGE, "DELETE": MANAGE}

    def post(self, request: Request, tenant: str) -> Response:
        params = self.page_params(request)  # checked before the body, as a list's are
        return self.list_answer(tenant, search_q(request, example="name:~support"), params)

    def public_id(self, ids: dict[str, str]) -> str:
        return "search"


# --- the views of each kind --------------------------------------------------------------------------------------


@list_schema(AGENTS)
class AgentListView(ResourceListView):
    api = AGENTS


@search_schema(AGENTS)
class AgentSearchView(ResourceSearchView):
    api = AGENTS


@detail_schema(AGENTS)
class AgentDetailView(ResourceDetailView):
    api = AGENTS


@list_schema(TOOLS)
class ToolListView(ResourceListView):
    api = TOOLS


@search_schema(TOOLS)
class ToolSearchView(ResourceSearchView):
    api = TOOLS


@detail_schema(TOOLS)
class ToolDetailView(ResourceDetailView):
    api = TOOLS


@list_schema(MCP_SERVERS)
class McpServerListView(ResourceListView):
    api = MCP_SERVERS


@search_schema(MCP_SERVERS)
class McpServerSearchView(ResourceSearchView):
    api = MCP_SERVERS


@detail_schema(MCP_SERVERS)
class McpServerDetailView(ResourceDetailView):
    api = MCP_SERVERS


@list_schema(TOKENS)
class TokenListView(ResourceListView):
    api = TOKENS


@search_schema(TOKENS)
class TokenSearchView(ResourceSearchView):
    api = TOKENS


@detail_schema(TOKENS)
class TokenDetailView(ResourceDetailView):
    api = TOKENS

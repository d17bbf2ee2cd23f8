"""The request and session logs (list, search, get), and the commerce events an installation accepts. Thin:
validate, call a selector, render."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Scope
from apps.agentic import selectors
from apps.agentic.api import schema
from apps.agentic.fields import REQUESTS, SESSIONS, WHOLE_OBJECTS, LogFields
from apps.agentic.models import AgentRequest, AgentSession, LogMessage
from apps.agentic.representation import request_representation, session_representation
from apps.core.api import ERROR_RESPONSES, fields_param, list_params, not_found, search_q
from apps.core.budget import statement_budget
from apps.core.listing import ListParams, Selection, filter_from_q, project
from apps.core.openapi import FIELDS_PARAMETER, list_parameters

READ = Scope.AGENT_READ.value
Row = TypeVar("Row", AgentRequest, AgentSession)
_TOO_SLOW: dict[int | str, Any] = {
    503: OpenApiResponse(schema.ERROR, description="The query ran out of its time budget; narrow it.")
}


@dataclass(frozen=True)
class LogApi(Generic[Row]):
    """What the list, search and get of one kind of log do: its fields, how to read a page, a count and one row,
    the lines of some rows, how to render one, and the key of a row (its path id, which is always returned)."""

    title: str
    fields: LogFields
    key: str
    page: Callable[..., list[Row]]
    count: Callable[..., int]
    get: Callable[[str, str], Row | None]
    lines: Callable[[str, list[str]], dict[str, list[LogMessage]]]
    render: Callable[[Row, list[LogMessage] | None], dict[str, Any]]

    def answer(self, tenant: str, rows: list[Row], selection: Selection | None) -> list[dict[str, Any]]:
        # The transcripts are read only when asked for: a dashboard listing ids and severities reads no lines.
        wanted = selection is None or "messages" in selection
        keys = [self._key(row) for row in rows]
        lines = self.lines(tenant, keys) if wanted and keys else {}
        return [
            project(self.render(row, lines.get(key, []) if wanted else None), self._with_key(selection))
            for row, key in zip(rows, keys, strict=True)
        ]

    def list_answer(self, tenant: str, q: Any, params: ListParams) -> Response:
        filters: Q = filter_from_q(q, self.fields.searchable)
        # The client chooses the filter, the sort and whether to count: each query gets the read budget.
        with statement_budget(settings.API_STATEMENT_TIMEOUT_MS):
            rows = self.page(tenant=tenant, filters=filters, params=params)
            total = self.count(tenant=tenant, filters=filters) if params.want_total else None
            body = self.answer(tenant, rows, params.fields)
        response = Response(body)
        if total is not None:
            response["X-Total-Count"] = str(total)
        return response

    def detail_answer(self, request: Request, tenant: str, key: str) -> Response:
        selection = fields_param(request, tree=self.fields.tree, whole=WHOLE_OBJECTS)
        with statement_budget(settings.API_STATEMENT_TIMEOUT_MS):
            row = self.get(tenant, key)
            if row is None:
                raise not_found(self.title, key)
            return Response(self.answer(tenant, [row], selection)[0])

    def params(self, request: Request) -> ListParams:
        return list_params(request, sortable=self.fields.sortable, tree=self.fields.tree, whole=WHOLE_OBJECTS)

    def _key(self, row: Row) -> str:
        return str(getattr(row, self.key))

    def _with_key(self, selection: Selection | None) -> Selection | None:
        # A request's key (`requestId`) or a session's (`sessionId`) comes with any selection, as `id` does.
        if selection is None:
            return None
        return {**selection, _KEY_FIELDS[self.key]: True}


_KEY_FIELDS = {"request_id": "requestId", "session_id": "sessionId"}

REQUEST_API: LogApi[AgentRequest] = LogApi(
    title="Agent request",
    fields=REQUESTS,
    key="request_id",
    page=selectors.request_list,
    count=selectors.request_count,
    get=lambda tenant, key: selectors.request_get(tenant=tenant, request_id=key),
    lines=lambda tenant, keys: selectors.messages_of_requests(tenant=tenant, request_ids=keys),
    render=request_representation,
)
SESSION_API: LogApi[AgentSession] = LogApi(
    title="Agent session",
    fields=SESSIONS,
    key="session_id",
    page=selectors.session_list,
    count=selectors.session_count,
    get=lambda tenant, key: selectors.session_get(tenant=tenant, session_id=key),
    lines=lambda tenant, keys: selectors.messages_of_sessions(tenant=tenant, session_ids=keys),
    render=session_representation,
)


def _q_parameter(example: str) -> OpenApiParameter:
    return OpenApiParameter("q", str, description=f"Query in the q grammar, e.g. `{example}`.")


_SEARCH_BODY = {"application/json": {"$ref": "#/components/schemas/QParamSearchBody"}}
_LIST_ERRORS: dict[int | str, Any] = {**ERROR_RESPONSES, **_TOO_SLOW}


def _not_found(title: str) -> dict[int | str, OpenApiResponse]:
    return {404: OpenApiResponse(schema.ERROR, description=f"No such {title} in this tenant.")}


class RequestListView(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="GET-ai-list-requests",
        summary="List agent requests",
        description="The request logs (one per agent run) of the tenant, newest first, with their transcripts.",
        tags=["Agent Logs"],
        parameters=[_q_parameter("triggerAgentId:support-agent severity:ERROR"), *list_parameters("Requests")],
        responses={200: OpenApiResponse(schema.REQUESTS, description="One page of request logs."), **_LIST_ERRORS},
    )
    def get(self, request: Request, tenant: str) -> Response:
        return REQUEST_API.list_answer(tenant, request.query_params.get("q"), REQUEST_API.params(request))


class RequestSearchView(APIView):
    # `.../logs/requests/search` is also the path of a request whose id is "search": GET on it means that one.
    required_scopes = {"POST": READ, "GET": READ}

    @extend_schema(
        operation_id="POST-ai-search-requests",
        summary="Search agent requests",
        description="The request logs matching `q` from the body, with the list parameters.",
        tags=["Agent Logs"],
        parameters=list_parameters("Requests"),
        request=_SEARCH_BODY,
        responses={200: OpenApiResponse(schema.REQUESTS, description="One page of request logs."), **_LIST_ERRORS},
    )
    def post(self, request: Request, tenant: str) -> Response:
        q = search_q(request, example="severity:ERROR")
        return REQUEST_API.list_answer(tenant, q, REQUEST_API.params(request))

    @extend_schema(exclude=True)
    def get(self, request: Request, tenant: str) -> Response:
        return REQUEST_API.detail_answer(request, tenant, "search")


class RequestDetailView(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="GET-ai-retrieve-request",
        summary="Get an agent request",
        description="One request log, by the `requestId` of its run (the AGENT_CHAT job's `requestId`).",
        tags=["Agent Logs"],
        parameters=[FIELDS_PARAMETER],
        responses={
            200: OpenApiResponse(schema.REQUEST, description="The request log."),
            **ERROR_RESPONSES,
            **_not_found("request"),
            **_TOO_SLOW,
        },
    )
    def get(self, request: Request, tenant: str, request_id: str) -> Response:
        return REQUEST_API.detail_answer(request, tenant, request_id)


class SessionListView(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="GET-ai-list-sessions",
        summary="List agent sessions",
        description="The session logs (the requests made with one session-id) of the tenant, newest first.",
        tags=["Agent Logs"],
        parameters=[_q_parameter("triggerAgentId:support-agent"), *list_parameters("Sessions")],
        responses={200: OpenApiResponse(schema.SESSIONS, description="One page of session logs."), **_LIST_ERRORS},
    )
    def get(self, request: Request, tenant: str) -> Response:
        return SESSION_API.list_answer(tenant, request.query_params.get("q"), SESSION_API.params(request))


class SessionSearchView(APIView):
    required_scopes = {"POST": READ, "GET": READ}

    @extend_schema(
        operation_id="POST-ai-search-sessions",
        summary="Search agent sessions",
        description="The session logs matching `q` from the body, with the list parameters.",
        tags=["Agent Logs"],
        parameters=list_parameters("Sessions"),
        request=_SEARCH_BODY,
        responses={200: OpenApiResponse(schema.SESSIONS, description="One page of session logs."), **_LIST_ERRORS},
    )
    def post(self, request: Request, tenant: str) -> Response:
        q = search_q(request, example="severity:ERROR")
        return SESSION_API.list_answer(tenant, q, SESSION_API.params(request))

    @extend_schema(exclude=True)
    def get(self, request: Request, tenant: str) -> Response:
        return SESSION_API.detail_answer(request, tenant, "search")


class SessionDetailView(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="GET-ai-retrieve-session",
        summary="Get an agent session",
        description="One session log, by its session-id, with the transcript of all its requests.",
        tags=["Agent Logs"],
        parameters=[FIELDS_PARAMETER],
        responses={
            200: OpenApiResponse(schema.SESSION, description="The session log."),
            **ERROR_RESPONSES,
            **_not_found("session"),
            **_TOO_SLOW,
        },
    )
    def get(self, request: Request, tenant: str, session_id: str) -> Response:
        return SESSION_API.detail_answer(request, tenant, session_id)


class CommerceEventsView(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="GET-ai-commerce-events",
        summary="List commerce events",
        description="The commerce events this installation accepts (AGENT_COMMERCE_EVENTS), which an agent's "
        "`commerce_events` trigger can name.",
        tags=["Commerce Events"],
        responses={
            200: OpenApiResponse(schema.EVENTS, description="The events."),
            401: ERROR_RESPONSES[401],
            403: ERROR_RESPONSES[403],
        },
    )
    def get(self, request: Request, tenant: str) -> Response:
        return Response({"events": list(settings.AGENT_COMMERCE_EVENTS)})

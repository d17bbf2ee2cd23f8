"""The four published Job operations. Thin: validate, call a selector or service, render."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Scope
from apps.accounts.principal import tenant_id_of
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record_api
from apps.core.api import ERROR_RESPONSES, fields_param, list_params, not_found, search_q
from apps.core.budget import statement_budget
from apps.core.listing import ListParams, filter_from_q, project
from apps.core.openapi import FIELDS_PARAMETER, list_parameters
from apps.core.renderers import json_answer
from apps.jobs import selectors, services
from apps.jobs.api import schema
from apps.jobs.fields import FIELD_TREE, SEARCHABLE, SORTABLE, WHOLE_OBJECTS
from apps.jobs.representation import job_representation
from apps.jobs.streaming import carries_bundle, streamed_json

READ, MANAGE = Scope.AGENT_READ.value, Scope.AGENT_MANAGE.value
JOB_DELETE = AuditEvent.Action.JOB_DELETE

_LIST_PARAMETERS = list_parameters("Jobs")
_Q_PARAMETER = OpenApiParameter("q", str, description="Query in the q grammar, e.g. `status:failure`.")
_ERRORS = ERROR_RESPONSES
_NOT_FOUND = {404: OpenApiResponse(schema.ERROR, description="No such job in this tenant.")}
_TOO_SLOW = {503: OpenApiResponse(schema.ERROR, description="The query ran out of its time budget; narrow it.")}


def _list_params(request: Request) -> ListParams:
    return list_params(request, sortable=SORTABLE, tree=FIELD_TREE, whole=WHOLE_OBJECTS)


def _list_response(request: Request, filters: Q, params: ListParams) -> HttpResponseBase:
    tenant_id = tenant_id_of(request.auth)
    # The client chooses the filter, the sort and whether to count: each query gets the read budget.
    with statement_budget(settings.API_STATEMENT_TIMEOUT_MS):
        rows = selectors.job_list(tenant_id=tenant_id, filters=filters, params=params)
        total = selectors.job_count(tenant_id=tenant_id, filters=filters) if params.want_total else None
    body = [project(job_representation(row), params.fields) for row in rows]
    # Only a row with a stored export bundle can put one in the answer (unless `fields` leaves it out): the answer
    # is looked through only then.
    bundles = any(row.get("bundle_size") is not None for row in rows) and carries_bundle(body)
    response = streamed_json(body) if bundles else json_answer(request, body)
    if total is not None:
        response["X-Total-Count"] = str(total.count)
        if not total.exact:
            # The count stopped at API_TOTAL_COUNT_MAX: there are at least this many.
            response["X-Total-Count-Exact"] = "false"
    return response


class JobListView(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="GET-ai-list-jobs",
        summary="List jobs",
        description="The tenant's jobs, newest first, with the list parameters.",
        tags=["Job"],
        parameters=[_Q_PARAMETER, *_LIST_PARAMETERS],
        responses={200: OpenApiResponse(schema.JOB_LIST, description="One page of jobs."), **_ERRORS, **_TOO_SLOW},
    )
    def get(self, request: Request, tenant: str) -> HttpResponseBase:
        params = _list_params(request)
        return _list_response(request, filter_from_q(request.query_params.get("q"), SEARCHABLE), params)


class JobSearchView(APIView):
    # `.../jobs/search` is also the path of a job whose id is "search" (ids are opaque, loaded ones keep their
    # shape): GET and DELETE on it mean that job.
    required_scopes = {"POST": READ, "GET": READ, "DELETE": MANAGE}

    @extend_schema(
        operation_id="POST-ai-search-jobs",
        summary="Search jobs",
        description="The tenant's jobs matching `q` from the body, with the list parameters.",
        tags=["Job"],
        parameters=_LIST_PARAMETERS,
        request={"application/json": {"$ref": "#/components/schemas/QParamSearchBody"}},
        responses={
            200: OpenApiResponse(schema.JOB_LIST, description="One page of matching jobs."),
            **_ERRORS,
            **_TOO_SLOW,
        },
    )
    def post(self, request: Request, tenant: str) -> HttpResponseBase:
        params = _list_params(request)
        q = search_q(request, example="status:failure")
        return _list_response(request, filter_from_q(q, SEARCHABLE), params)

    @extend_schema(exclude=True)
    def get(self, request: Request, tenant: str) -> HttpResponseBase:
        return JobDetailView().get(request, tenant, "search")

    @extend_schema(exclude=True)
    def delete(self, request: Request, tenant: str) -> Response:
        return JobDetailView().delete(request, tenant, "search")


class JobDetailView(APIView):
    required_scopes = {"GET": READ, "DELETE": MANAGE}

    @extend_schema(
        operation_id="GET-ai-job",
        summary="Get a job",
        tags=["Job"],
        parameters=[FIELDS_PARAMETER],
        responses={200: OpenApiResponse(schema.JOB, description="The job."), **_ERRORS, **_NOT_FOUND},
    )
    def get(self, request: Request, tenant: str, job_id: str) -> HttpResponseBase:
        fields = fields_param(request, tree=FIELD_TREE, whole=WHOLE_OBJECTS)
        # No read budget: one row by its unique key is no read the client can make expensive, and the budget's
        # transaction would triple the round trips of the API's most frequent request.
        row = selectors.job_row(tenant_id=tenant_id_of(request.auth), job_id=job_id)
        if row is None:
            raise not_found("Job", job_id)
        body = project(job_representation(row), fields)
        # Only a job with a stored export bundle can carry one (unless `fields` leaves it out): streamed then.
        if row.get("bundle_size") is not None and carries_bundle(body):
            return streamed_json(body)
        return json_answer(request, body)

    @extend_schema(
        operation_id="DELETE-ai-job",
        summary="Delete a job",
        tags=["Job"],
        responses={204: OpenApiResponse(description="The job is deleted."), **_ERRORS, **_NOT_FOUND},
    )
    def delete(self, request: Request, tenant: str, job_id: str) -> Response:
        job = selectors.job_get(tenant=tenant, job_id=job_id)
        if job is None:
            raise not_found("Job", job_id)
        with transaction.atomic():  # the delete and its audit event, or neither
            services.job_delete(job=job)
            audit_record_api(principal=request.auth, tenant=job.tenant, action=JOB_DELETE, object_id=job.job_id)
        return Response(status=204)

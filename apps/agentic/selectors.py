"""Reads of the request and session logs. Every query starts from the tenant, so no read can cross tenants."""

from __future__ import annotations

from collections import defaultdict
from typing import TypeVar

from django.db.models import Case, IntegerField, Model, Q, QuerySet, Value, When

from apps.agentic.fields import REQUESTS, SESSIONS, LogFields
from apps.agentic.models import AgentRequest, AgentSession, LogMessage, Severity
from apps.core.ids import is_stored_id
from apps.core.listing import ListParams, ordering, page_of
from apps.tenants.selectors import tenant_id_for

M = TypeVar("M", bound=Model)


def _for_tenant(model: type[M], tenant: str) -> QuerySet[M]:
    tenant_id = tenant_id_for(name=tenant)
    return model._default_manager.none() if tenant_id is None else model._default_manager.filter(tenant_id=tenant_id)


# `sort=severity` orders by how bad a run went (INFO, WARNING, ERROR), not by the words' spelling.
_SEVERITY_RANK = Case(
    *(When(severity=severity, then=Value(rank)) for rank, severity in enumerate(Severity.values)),
    default=Value(len(Severity.values)),
    output_field=IntegerField(),
)


def _page(queryset: QuerySet[M], fields: LogFields, filters: Q, params: ListParams) -> list[M]:
    order = ordering(params.sort, default=fields.default_sort, sortable=fields.sortable, tiebreak=fields.tiebreak)
    rows = queryset.filter(filters)
    if any(term.lstrip("-") == "severity_rank" for term in order):
        rows = rows.annotate(severity_rank=_SEVERITY_RANK)  # type: ignore[assignment]
    return page_of(rows.order_by(*order), params)


def request_list(*, tenant: str, filters: Q, params: ListParams) -> list[AgentRequest]:
    """One page of a tenant's request logs, newest first unless `params.sort` says otherwise."""
    return _page(_for_tenant(AgentRequest, tenant), REQUESTS, filters, params)


def request_count(*, tenant: str, filters: Q) -> int:
    return _for_tenant(AgentRequest, tenant).filter(filters).count()


def request_get(*, tenant: str, request_id: str) -> AgentRequest | None:
    # PostgreSQL cannot compare text holding a NUL with a column (and no id holds one): no such request.
    if not is_stored_id(request_id):
        return None
    return _for_tenant(AgentRequest, tenant).filter(request_id=request_id).first()


def session_list(*, tenant: str, filters: Q, params: ListParams) -> list[AgentSession]:
    """One page of a tenant's session logs, newest first unless `params.sort` says otherwise."""
    return _page(_for_tenant(AgentSession, tenant), SESSIONS, filters, params)


def session_count(*, tenant: str, filters: Q) -> int:
    return _for_tenant(AgentSession, tenant).filter(filters).count()


def session_get(*, tenant: str, session_id: str) -> AgentSession | None:
    if not is_stored_id(session_id):
        return None
    return _for_tenant(AgentSession, tenant).filter(session_id=session_id).first()


def messages_of_requests(*, tenant: str, request_ids: list[str]) -> dict[str, list[LogMessage]]:
    """The transcript lines of each request, in the order they were written."""
    return _grouped(_for_tenant(LogMessage, tenant).filter(request_id__in=request_ids), "request_id")


def messages_of_sessions(*, tenant: str, session_ids: list[str]) -> dict[str, list[LogMessage]]:
    """The transcript lines of each session (all its requests), in the order they were written."""
    return _grouped(_for_tenant(LogMessage, tenant).filter(session_id__in=session_ids), "session_id")


def _grouped(lines: QuerySet[LogMessage], key: str) -> dict[str, list[LogMessage]]:
    # Lines written in the same millisecond keep the order they were written in: by primary key.
    grouped: dict[str, list[LogMessage]] = defaultdict(list)
    for line in lines.order_by("timestamp", "id"):
        grouped[getattr(line, key)].append(line)
    return grouped

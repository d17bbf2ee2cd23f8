"""Reads of agents, tools, MCP servers and tokens. Every query starts from `_for_tenant`, so no read can cross
tenants."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.agents.fields import DEFAULT_SORT, FIELDS, TIEBREAK
from apps.agents.models import RESOURCE_MODELS, Kind, without_secrets
from apps.agents.representation import AnyResource
from apps.core.listing import ListParams, ordering, page_of
from apps.tenants.selectors import tenant_id_for


def _for_tenant(tenant: str, kind: Kind) -> QuerySet[AnyResource]:
    model = RESOURCE_MODELS[kind]
    tenant_id = tenant_id_for(name=tenant)
    queryset: QuerySet[AnyResource] = (
        model.objects.none() if tenant_id is None else model.objects.filter(tenant_id=tenant_id)
    )
    return without_secrets(queryset)


def resource_list(*, tenant: str, kind: Kind, filters: Q, params: ListParams) -> list[AnyResource]:
    """One page of a tenant's resources of one kind, newest first unless `params.sort` says otherwise."""
    order = ordering(params.sort, default=DEFAULT_SORT, sortable=FIELDS[kind].sortable, tiebreak=TIEBREAK)
    return page_of(_for_tenant(tenant, kind).filter(filters).order_by(*order), params)


def resource_count(*, tenant: str, kind: Kind, filters: Q) -> int:
    return _for_tenant(tenant, kind).filter(filters).count()


def resource_get(*, tenant: str, kind: Kind, public_id: str) -> AnyResource | None:
    return _for_tenant(tenant, kind).filter(public_id=public_id).first()

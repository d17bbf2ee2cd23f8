"""Reads of the catalogue pages that apps.agents.selectors and apps.accounts do not offer: who uses whom, and a
tenant's API clients. Every query is scoped to one tenant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from apps.accounts.models import ApiClient
from apps.agents.models import RESOURCE_MODELS, Kind, Reference, Token
from apps.tenants.models import Tenant

# A token can be used by thousands of agents: a page lists this many, and says that there are more.
RELATED_SHOWN = 200
CLIENTS_SHOWN = 500
# A form's token picker offers this many of the tenant's tokens (by name); a chosen one beyond stays chosen.
TOKENS_OFFERED = 1000
_KIND_ORDER = {Kind.AGENT: 0, Kind.TOOL: 1, Kind.MCP_SERVER: 2, Kind.TOKEN: 3}


@dataclass(frozen=True)
class Related:
    kind: Kind
    public_id: str
    name: str | None  # None: the row is gone, only a reference to it is left


@dataclass(frozen=True)
class RelatedList:
    items: list[Related]
    more: bool  # there were more than RELATED_SHOWN


def resource_uses(*, tenant: Tenant, kind: Kind, public_id: str) -> RelatedList:
    """What the resource uses: tools, MCP servers, collaborating agents, tokens."""
    rows = Reference.objects.filter(tenant=tenant, source_kind=kind, source_id=public_id)
    pairs = rows.order_by("target_kind", "target_id").values_list("target_kind", "target_id")
    return _named(tenant, list(pairs[: RELATED_SHOWN + 1]))


def resource_used_by(*, tenant: Tenant, kind: Kind, public_id: str) -> RelatedList:
    """The resources that use this one (itself excluded), the ones a delete would have to detach it from."""
    rows = Reference.objects.filter(tenant=tenant, target_kind=kind, target_id=public_id).exclude(
        source_kind=kind, source_id=public_id
    )
    pairs = rows.order_by("source_kind", "source_id").values_list("source_kind", "source_id")
    return _named(tenant, list(pairs[: RELATED_SHOWN + 1]))


def _named(tenant: Tenant, pairs: list[tuple[str, str]]) -> RelatedList:
    wanted: dict[Kind, set[str]] = defaultdict(set)
    for kind, public_id in pairs[:RELATED_SHOWN]:
        wanted[Kind(kind)].add(public_id)
    names: dict[tuple[Kind, str], str] = {}
    for kind, ids in wanted.items():
        # values_list: never the token row itself, whose ciphertext a page has no use for.
        found = RESOURCE_MODELS[kind].objects.filter(tenant=tenant, public_id__in=ids).values_list("public_id", "name")
        names.update(((kind, public_id), name) for public_id, name in found)
    items = [Related(kind, public_id, names.get((kind, public_id))) for kind, public_id in _pairs(wanted)]
    return RelatedList(items, more=len(pairs) > RELATED_SHOWN)


def _pairs(wanted: dict[Kind, set[str]]) -> Iterable[tuple[Kind, str]]:
    for kind in sorted(wanted, key=_KIND_ORDER.__getitem__):
        for public_id in sorted(wanted[kind]):
            yield kind, public_id


def api_client_list(*, tenant: Tenant) -> list[ApiClient]:
    return list(ApiClient.objects.filter(tenant=tenant).order_by("-created", "-pk")[:CLIENTS_SHOWN])


def api_client_get(*, tenant: Tenant, client_id: str) -> ApiClient | None:
    result: ApiClient | None = ApiClient.objects.filter(tenant=tenant, client_id=client_id).first()
    return result


def token_choices(*, tenant: Tenant) -> list[tuple[str, str]]:
    """(id, "name (id)") of the tenant's tokens, for a form's token picker: never the row, whose ciphertext a
    page has no use for."""
    rows = Token.objects.filter(tenant=tenant).order_by("name", "public_id").values_list("public_id", "name")
    return [(public_id, f"{name} ({public_id})") for public_id, name in rows[:TOKENS_OFFERED]]

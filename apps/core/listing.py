"""The list parameters shared by every list endpoint: pageSize, pageNumber, sort, fields and X-Total-Count."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db.models import Q, QuerySet

from apps.core.errors import ApiError
from apps.core.query import FieldSpec, QueryError, QueryLimits, build_filter, check_limits, parse_query

# A field tree names the fields a resource has: a leaf is None, an object maps its own fields.
FieldTree = Mapping[str, "FieldTree | None"]
# A selection is the part of a tree the client asked for: True takes a field whole.
Selection = dict[str, "Selection | bool"]


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


@dataclass(frozen=True)
class ListParams:
    page_size: int
    page_number: int
    sort: tuple[SortKey, ...]
    fields: Selection | None
    want_total: bool

    @property
    def offset(self) -> int:
        return (self.page_number - 1) * self.page_size


def _positive_int(raw: str | None, name: str, default: int, maximum: int | None = None) -> int:
    if raw is None:
        return default
    text = raw.strip()
    if not text.isdigit() or not text.isascii() or int(text) < 1:
        raise ApiError(f"{name} must be a positive whole number.", field=name)
    value = int(text)
    if maximum is not None and value > maximum:
        raise ApiError(f"{name} must be at most {maximum}.", field=name)
    return value


def _parse_sort(raw: str | None, sortable: Mapping[str, str]) -> tuple[SortKey, ...]:
    if raw is None or not raw.strip():
        return ()
    keys: list[SortKey] = []
    for part in raw.split(","):
        field, _, direction = part.strip().partition(":")
        if field not in sortable:
            raise ApiError(f"Cannot sort by '{field}'; sortable fields: {', '.join(sortable)}.", field="sort")
        if direction not in ("", "asc", "ASC", "desc", "DESC"):
            raise ApiError(f"Sort direction '{direction}' must be asc or desc.", field="sort")
        keys.append(SortKey(field, direction in ("desc", "DESC")))
    return tuple(keys)


def _parse_fields(raw: str | None, tree: FieldTree, whole: frozenset[str]) -> Selection | None:
    if raw is None or not raw.strip():
        return None
    selection: Selection = {"id": True}
    for path in (p.strip() for p in raw.split(",")):
        if not path:
            continue
        parts = path.split(".")
        _check_path(tree, parts, path)
        if parts[0] in whole:
            selection[parts[0]] = True
        else:
            _select(selection, parts)
    return selection


def _check_path(tree: FieldTree | None, parts: list[str], path: str) -> None:
    for part in parts:
        if tree is None or part not in tree:
            raise ApiError(f"Unknown field '{path}' in fields.", field="fields")
        tree = tree[part]


def _select(selection: Selection, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    current = selection.get(head)
    if not rest:
        selection[head] = True
    elif current is not True:
        child: Selection = current if isinstance(current, dict) else {}
        selection[head] = child
        _select(child, rest)


def parse_list_params(
    query: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    sortable: Mapping[str, str],
    tree: FieldTree,
    whole: frozenset[str] = frozenset(),
) -> ListParams:
    """Validate the list parameters; `whole` names objects returned whole when any part is asked for."""
    return ListParams(
        page_size=_positive_int(
            query.get("pageSize"), "pageSize", settings.API_PAGE_SIZE_DEFAULT, settings.API_PAGE_SIZE_MAX
        ),
        page_number=_positive_int(query.get("pageNumber"), "pageNumber", 1, maximum=10_000_000),
        sort=_parse_sort(query.get("sort"), sortable),
        fields=parse_fields(query.get("fields"), tree, whole),
        want_total=headers.get("X-Total-Count", "").strip().lower() == "true",
    )


def parse_fields(raw: str | None, tree: FieldTree, whole: frozenset[str] = frozenset()) -> Selection | None:
    return _parse_fields(raw, tree, whole)


def project(representation: Mapping[str, Any], selection: Selection | None) -> dict[str, Any]:
    """Keep only the selected parts of a representation (all of it when nothing was selected)."""
    if selection is None:
        return dict(representation)
    out: dict[str, Any] = {}
    for key, chosen in selection.items():
        if key not in representation:
            continue
        value = representation[key]
        if chosen is True or not isinstance(value, Mapping):
            out[key] = value
        elif isinstance(chosen, dict):
            out[key] = project(value, chosen)
    return out


def filter_from_q(q: Any, searchable: Mapping[str, FieldSpec]) -> Q:
    """The filter a `q` (from the query string or a search body) stands for; absent means everything."""
    if q is None:
        return Q()
    if not isinstance(q, str):
        raise ApiError("q must be a string.", field="q")
    try:
        terms = parse_query(q)
        filters = build_filter(terms, searchable)
        # After the fields and operators are known good, so that a mistake there is what the answer names.
        check_limits(terms, query_limits())
        return filters
    except QueryError as exc:
        raise ApiError(exc.message, field="q") from None


def query_limits() -> QueryLimits:
    return QueryLimits(
        max_terms=settings.API_QUERY_MAX_TERMS,
        max_contains_terms=settings.API_QUERY_MAX_CONTAINS_TERMS,
        min_contains_length=settings.API_QUERY_MIN_CONTAINS_LENGTH,
    )


def ordering(
    sort: tuple[SortKey, ...], *, default: tuple[SortKey, ...], sortable: Mapping[str, str], tiebreak: str
) -> list[str]:
    """`order_by()` arguments for the sort keys (or the default ones), ending with the unique `tiebreak` column
    in the direction of the last key, so that pages never overlap."""
    keys = sort or default
    order = [("-" if key.descending else "") + sortable[key.field] for key in keys]
    if tiebreak not in (o.lstrip("-") for o in order):
        order.append(("-" if keys[-1].descending else "") + tiebreak)
    return order


# Past this offset a page is found in two steps: the keys of the page first, from the index alone, then the
# rows. Skipping tens of thousands of index entries is cheap; skipping as many table rows is not.
DEEP_OFFSET = 1000
R = TypeVar("R")


def page_of(
    queryset: QuerySet[Any, R],
    params: ListParams,
    *,
    key: str = "pk",
    total: int | None = None,
    keys: QuerySet[Any, Any] | None = None,
) -> list[R]:
    """One page of an ordered queryset of model instances or of `values()` rows. `key` names a column unique
    within the queryset, and for rows one of their columns; where the ordering's index holds it too, a deep
    page's first step reads that index alone. `keys`, when given, is the same rows in the same order without
    what only showing them takes (joins, annotations), which would keep that step from the index alone.

    `total`, when the caller knows how many rows the queryset has without counting them, bounds the walk: a page
    past the end is empty without a query, and a page nearer the end than the start is read in the reverse order
    from the end, so that no page skips more than half of the rows. The ordering must then be total (end with a
    unique column, as `ordering()` makes it)."""
    start, stop = params.offset, params.offset + params.page_size
    if total is not None:
        if start >= total:
            return []
        if total - stop < start:
            ends = keys.reverse() if keys is not None else None
            rows = _slice(queryset.reverse(), ends, max(total - stop, 0), total - start, key)
            rows.reverse()
            return rows
    return _slice(queryset, keys, start, stop, key)


def _slice(queryset: QuerySet[Any, R], keys: QuerySet[Any, Any] | None, start: int, stop: int, key: str) -> list[R]:
    if start < DEEP_OFFSET:
        return list(queryset[start:stop])
    # One statement: the page's keys walked from the index in a subquery, then only their rows read and sorted.
    wanted = (queryset if keys is None else keys).values(key)[start:stop]
    return list(queryset.filter(**{f"{key}__in": wanted}))


# --- X-Total-Count -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Total:
    """What X-Total-Count answers: how many rows match, or, when not `exact`, how many at least."""

    count: int
    exact: bool = True


def bounded_count(queryset: QuerySet[Any, Any], bound: int) -> Total:
    """Count the rows, but no further than `bound` (0: no bound): a broad filter over a big table stops there
    instead of reading every row that matches."""
    if bound <= 0:
        return Total(queryset.count())
    counted = queryset.order_by()[: bound + 1].count()
    return Total(min(counted, bound), exact=counted <= bound)


def equality_terms(filters: Q, columns: Collection[str]) -> dict[str, set[Any]] | None:
    """The values each of `columns` may hold in a row that matches `filters`, when `filters` is nothing but an AND
    of equality and IN terms on those columns (as `filter_from_q` builds them); a column it does not name may
    hold anything. None for any other filter."""
    allowed: dict[str, set[Any]] = {}

    def walk(node: Q) -> bool:
        if node.negated or (node.connector != Q.AND and len(node.children) > 1):
            return False
        for child in node.children:
            if isinstance(child, Q):
                if not walk(child):
                    return False
                continue
            lookup, value = cast(tuple[str, Any], child)  # a leaf of a Q is (lookup, value)
            column, _, operator = lookup.partition("__")
            if column not in columns or operator not in ("", "exact", "in"):
                return False
            values = set(value) if operator == "in" else {value}
            allowed[column] = allowed.get(column, values) & values
        return True

    return allowed if walk(filters) else None

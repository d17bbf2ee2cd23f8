"""Compile parsed `q` terms into a Django Q object, checking them against the searchable fields."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import assert_never

from django.db.models import Q

from .ast import AllOf, AnyOf, Compare, Contains, Equals, Exists, IsNull, Missing, Op, Term, Value
from .errors import QueryError


class FieldKind(Enum):
    TEXT = "text"
    ENUM = "enum"
    INT = "int"
    DATETIME = "datetime"
    BOOL = "bool"


@dataclass(frozen=True)
class FieldSpec:
    """One searchable field: its API name, where it lives in the ORM, and how values are read."""

    name: str
    lookup: str
    kind: FieldKind
    choices: tuple[str, ...] = ()
    nullable: bool = True


Scalar = str | int | datetime | bool

_INTEGER = re.compile(r"[+-]?[0-9]+")
# Keeps values inside a signed 64-bit column so the database never sees an overflowing literal.
_INT_LIMIT = 2**63 - 1
_LOOKUP_SUFFIX = {Op.GT: "gt", Op.LT: "lt", Op.GTE: "gte", Op.LTE: "lte"}
_ORDERABLE = frozenset({FieldKind.INT, FieldKind.DATETIME})


def build_filter(terms: Sequence[Term], specs: Mapping[str, FieldSpec]) -> Q:
    """AND together the Q objects for `terms`; raise QueryError naming the field at fault."""
    result = Q()
    for term in terms:
        result &= _compile_term(term, _spec_for(term.field, specs))
    return result


def _spec_for(field: str, specs: Mapping[str, FieldSpec]) -> FieldSpec:
    spec = specs.get(field)
    if spec is None:
        searchable = ", ".join(sorted(specs))
        raise QueryError(f"Unknown field '{field}' in q; searchable fields: {searchable}", field=field)
    return spec


def _compile_term(term: Term, spec: FieldSpec) -> Q:
    condition = term.condition
    match condition:
        case IsNull() | Missing():
            return _absent(spec)
        case Exists():
            return _present(spec)
        case Equals(value=value):
            return Q(**{spec.lookup: _coerce(value, spec)})
        case AnyOf(values=values):
            unique = list(dict.fromkeys(_coerce(value, spec) for value in values))
            return Q(**{f"{spec.lookup}__in": unique})
        case Compare():
            return _compare(condition, spec)
        case AllOf(comparisons=comparisons):
            return _all_of(comparisons, spec)
        case Contains(value=value):
            return _contains(value, spec)
        case _:
            assert_never(condition)


def _absent(spec: FieldSpec) -> Q:
    # A non-nullable column is never absent; an empty IN matches no row without touching the column.
    return Q(**{f"{spec.lookup}__isnull": True}) if spec.nullable else Q(pk__in=[])


def _present(spec: FieldSpec) -> Q:
    return Q(**{f"{spec.lookup}__isnull": False}) if spec.nullable else Q()


def _all_of(comparisons: Sequence[Compare], spec: FieldSpec) -> Q:
    result = Q()
    for comparison in comparisons:
        result &= _compare(comparison, spec)
    return result


def _compare(comparison: Compare, spec: FieldSpec) -> Q:
    if spec.kind not in _ORDERABLE:
        raise _unsupported(comparison.op.value, spec)
    bound = _coerce(comparison.value, spec)
    return Q(**{f"{spec.lookup}__{_LOOKUP_SUFFIX[comparison.op]}": bound})


def _contains(value: Value, spec: FieldSpec) -> Q:
    if spec.kind is not FieldKind.TEXT:
        raise _unsupported("~", spec)
    # icontains escapes % and _, so the value is matched literally.
    return Q(**{f"{spec.lookup}__icontains": value.text})


def _unsupported(operator: str, spec: FieldSpec) -> QueryError:
    return QueryError(f"Operator {operator} is not supported for field '{spec.name}'", field=spec.name)


def _coerce(value: Value, spec: FieldSpec) -> Scalar:
    if spec.kind is FieldKind.TEXT:
        return value.text
    if spec.kind is FieldKind.ENUM:
        return _enum_value(value.text, spec)
    if spec.kind is FieldKind.INT:
        return _int_value(value.text, spec)
    if spec.kind is FieldKind.DATETIME:
        return _datetime_value(value.text, spec)
    if spec.kind is FieldKind.BOOL:
        return _bool_value(value.text, spec)
    assert_never(spec.kind)


def _enum_value(text: str, spec: FieldSpec) -> str:
    wanted = text.casefold()
    for choice in spec.choices:
        if choice.casefold() == wanted:
            return choice
    allowed = ", ".join(spec.choices)
    raise QueryError(f"Invalid value '{text}' for field '{spec.name}'; allowed values: {allowed}", field=spec.name)


def _int_value(text: str, spec: FieldSpec) -> int:
    # The regex rather than int() alone: int() would also take '1_000', ' 7' and non-ASCII digits.
    if _INTEGER.fullmatch(text) and len(text) <= 20:
        number = int(text)
        if -_INT_LIMIT - 1 <= number <= _INT_LIMIT:
            return number
    raise QueryError(f"Invalid integer '{text}' for field '{spec.name}'", field=spec.name)


def _bool_value(text: str, spec: FieldSpec) -> bool:
    folded = text.casefold()
    if folded in ("true", "false"):
        return folded == "true"
    raise QueryError(f"Invalid value '{text}' for field '{spec.name}'; allowed values: true, false", field=spec.name)


def _datetime_value(text: str, spec: FieldSpec) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
        # Naive values, date-only ones included, are taken to be UTC.
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise QueryError(
            f"Invalid date-time '{text}' for field '{spec.name}'; expected ISO-8601 such as 2025-11-04T00:00:00Z",
            field=spec.name,
        ) from None

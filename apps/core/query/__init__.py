"""The `q` query language: parse a query string, check it against the limits, then compile it against searchable
fields."""

from .compile import FieldKind, FieldSpec, build_filter
from .errors import QueryError
from .grammar import parse_query
from .limits import QueryLimits, check_limits

__all__ = ["FieldKind", "FieldSpec", "QueryError", "QueryLimits", "build_filter", "check_limits", "parse_query"]

"""The `q` query language: parse a query string, then compile it against searchable fields."""

from .compile import FieldKind, FieldSpec, build_filter
from .errors import QueryError
from .grammar import parse_query

__all__ = ["FieldKind", "FieldSpec", "QueryError", "build_filter", "parse_query"]

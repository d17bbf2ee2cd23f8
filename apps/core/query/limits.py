"""How much a single `q` may ask of the database.

A `~` (contains) term cannot use an ordinary index: on PostgreSQL the trigram index serves it, and only with
values of three characters or more (shorter ones have no trigram to look up, so every row is read). Each term
adds to the work of every row considered; 180 `message:~e` terms with a sort and a total kept PostgreSQL busy
for 90 s over 300,000 jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .ast import Contains, Term
from .errors import QueryError


@dataclass(frozen=True)
class QueryLimits:
    max_terms: int
    max_contains_terms: int
    min_contains_length: int


def check_limits(terms: Sequence[Term], limits: QueryLimits) -> None:
    """Raise QueryError naming the limit a parsed query goes over."""
    if len(terms) > limits.max_terms:
        raise QueryError(f"q has {len(terms)} terms; at most {limits.max_terms} are allowed")
    contains = [(term.field, term.condition.value.text) for term in terms if isinstance(term.condition, Contains)]
    if len(contains) > limits.max_contains_terms:
        raise QueryError(f"q has {len(contains)} ~ (contains) terms; at most {limits.max_contains_terms} are allowed")
    for field, text in contains:
        if len(text) < limits.min_contains_length:
            raise QueryError(
                f"The ~ (contains) value for '{field}' must be at least {limits.min_contains_length} characters long",
                field=field,
            )

"""How much one `q` may ask: terms, `~` terms and the length of `~` values (apps/core/query/limits.py)."""

from __future__ import annotations

import pytest

from apps.core.query import QueryError, QueryLimits, check_limits, parse_query

LIMITS = QueryLimits(max_terms=4, max_contains_terms=2, min_contains_length=3)


def problem(q: str) -> QueryError:
    with pytest.raises(QueryError) as raised:
        check_limits(parse_query(q), LIMITS)
    return raised.value


@pytest.mark.parametrize(
    "q",
    [
        "",
        "status:success type:IMPORT agentId:null message:~abc",
        'message:~abc id:~"x y"',
        'metadata.createdAt:(>="2025-11-04" AND <"2025-11-05") type:(IMPORT,EXPORT,AGENT_CHAT)',
    ],
)
def test_a_query_within_the_limits_passes(q):
    check_limits(parse_query(q), LIMITS)


def test_more_terms_than_allowed_is_an_error_stating_the_limit():
    assert str(problem("a:1 b:2 c:3 d:4 e:5")) == "q has 5 terms; at most 4 are allowed"


def test_more_contains_terms_than_allowed_is_an_error_stating_the_limit():
    error = problem("message:~abc message:~def id:~ghi")

    assert str(error) == "q has 3 ~ (contains) terms; at most 2 are allowed"
    assert error.field == "q"


@pytest.mark.parametrize("q", ["message:~e", 'message:~"ab"', "message:~abc sessionId:~xy"])
def test_a_contains_value_shorter_than_the_minimum_is_an_error_naming_the_field(q):
    error = problem(q)

    assert "must be at least 3 characters long" in str(error)
    assert error.field in ("message", "sessionId")


def test_the_query_of_the_finding_is_refused_for_its_number_of_terms():
    q = " ".join(["message:~e"] * 180)

    assert str(problem(q)) == "q has 180 terms; at most 4 are allowed"

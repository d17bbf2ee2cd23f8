"""Boolean fields in q: `enabled:true`, case-insensitive, no ranges or contains."""

import pytest
from django.db.models import Q

from apps.core.query import FieldKind, FieldSpec, QueryError, build_filter, parse_query

SPECS = {"enabled": FieldSpec("enabled", "enabled", FieldKind.BOOL, nullable=False)}


def compile_q(q: str) -> Q:
    return build_filter(parse_query(q), SPECS)


@pytest.mark.parametrize("q, value", [("enabled:true", True), ("enabled:FALSE", False), ('enabled:"True"', True)])
def test_a_boolean_matches_true_or_false_in_any_case(q, value):
    assert compile_q(q) == Q(enabled=value)


def test_a_boolean_takes_a_list_of_values():
    assert compile_q("enabled:(true,false)") == Q(enabled__in=[True, False])


@pytest.mark.parametrize("q", ["enabled:yes", "enabled:1", "enabled:>true", "enabled:~tr", "enabled:(true,maybe)"])
def test_anything_but_true_or_false_is_refused_naming_the_field(q):
    with pytest.raises(QueryError) as caught:
        compile_q(q)
    assert caught.value.field == "enabled"

"""Compilation of parsed `q` terms into Django Q objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db.models import Q
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core.query import FieldKind, FieldSpec, QueryError, build_filter, parse_query

SPECS = {
    spec.name: spec
    for spec in (
        FieldSpec("id", "id", FieldKind.TEXT, nullable=False),
        FieldSpec("message", "message", FieldKind.TEXT),
        FieldSpec("agentId", "agent__code", FieldKind.TEXT),
        FieldSpec("commerceEvent", "commerce_event", FieldKind.TEXT),
        FieldSpec("status", "status", FieldKind.ENUM, choices=("in_progress", "success", "failure")),
        FieldSpec("type", "type", FieldKind.ENUM, choices=("IMPORT", "EXPORT"), nullable=False),
        FieldSpec("metadata.version", "version", FieldKind.INT),
        FieldSpec("metadata.createdAt", "created_at", FieldKind.DATETIME, nullable=False),
        FieldSpec("metadata.modifiedAt", "modified_at", FieldKind.DATETIME),
    )
}

NOTHING = Q(pk__in=[])


def compile_q(q: str) -> Q:
    return build_filter(parse_query(q), SPECS)


def error_for(q: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        compile_q(q)
    return caught.value


# --- shape of the result --------------------------------------------------------------------


def test_it_matches_everything_for_an_empty_query() -> None:
    assert compile_q("") == Q()


def test_it_ands_terms_together() -> None:
    assert compile_q("message:hi metadata.version:3") == Q(message="hi") & Q(version=3)


def test_it_ands_repeated_fields() -> None:
    assert compile_q("message:~a message:~b") == Q(message__icontains="a") & Q(message__icontains="b")


# --- text -----------------------------------------------------------------------------------


def test_it_matches_text_exactly() -> None:
    assert compile_q('message:"two words"') == Q(message="two words")


def test_it_matches_any_of_several_texts() -> None:
    assert compile_q('agentId:(a1,"b 2")') == Q(agent__code__in=["a1", "b 2"])


def test_it_drops_duplicate_values_from_a_list() -> None:
    assert compile_q("agentId:(a,b,a)") == Q(agent__code__in=["a", "b"])


def test_it_matches_text_containing_a_value_case_insensitively() -> None:
    assert compile_q('message:~"Refund Issued"') == Q(message__icontains="Refund Issued")


def test_it_passes_like_wildcards_to_icontains_unchanged_so_django_escapes_them() -> None:
    assert compile_q("message:~50%_off") == Q(message__icontains="50%_off")


def test_it_matches_a_quoted_null_as_the_literal_string() -> None:
    assert compile_q('agentId:"null"') == Q(agent__code="null")


@pytest.mark.parametrize("op", [">", "<", ">=", "<="])
def test_it_rejects_comparisons_on_text(op: str) -> None:
    error = error_for(f"message:{op}b")
    assert str(error) == f"Operator {op} is not supported for field 'message'"
    assert error.field == "message"


def test_it_rejects_a_range_on_text() -> None:
    assert str(error_for("message:(>a AND <b)")) == "Operator > is not supported for field 'message'"


# --- presence -------------------------------------------------------------------------------


@pytest.mark.parametrize("keyword", ["null", "missing"])
def test_it_matches_absent_values_with_null_and_missing(keyword: str) -> None:
    assert compile_q(f"agentId:{keyword}") == Q(agent__code__isnull=True)


def test_it_matches_present_values_with_exists() -> None:
    assert compile_q("commerceEvent:exists") == Q(commerce_event__isnull=False)


@pytest.mark.parametrize("keyword", ["null", "missing"])
def test_it_matches_nothing_when_a_non_nullable_field_is_asked_to_be_absent(keyword: str) -> None:
    assert compile_q(f"id:{keyword}") == NOTHING


def test_it_matches_everything_when_a_non_nullable_field_is_asked_to_exist() -> None:
    assert compile_q("id:exists") == Q()


def test_it_still_applies_other_terms_next_to_an_always_true_presence_check() -> None:
    assert compile_q("id:exists message:x") == Q(message="x")


@pytest.mark.parametrize("field", ["status", "metadata.version", "metadata.modifiedAt"])
def test_it_allows_presence_checks_on_every_kind(field: str) -> None:
    lookup = SPECS[field].lookup
    assert compile_q(f"{field}:null") == Q(**{f"{lookup}__isnull": True})


# --- enums ----------------------------------------------------------------------------------


def test_it_matches_enum_values_case_insensitively() -> None:
    assert compile_q("status:SUCCESS") == Q(status="success")


def test_it_maps_enum_values_to_their_canonical_spelling() -> None:
    assert compile_q("type:import") == Q(type="IMPORT")


def test_it_matches_any_of_several_enum_values() -> None:
    assert compile_q("type:(import,Export)") == Q(type__in=["IMPORT", "EXPORT"])


def test_it_rejects_an_enum_value_outside_the_choices() -> None:
    error = error_for("status:done")
    assert str(error) == "Invalid value 'done' for field 'status'; allowed values: in_progress, success, failure"
    assert error.field == "status"


def test_it_rejects_an_unknown_value_inside_an_enum_list() -> None:
    assert error_for("type:(IMPORT,SYNC)").field == "type"


def test_it_rejects_contains_on_an_enum() -> None:
    assert str(error_for("status:~succ")) == "Operator ~ is not supported for field 'status'"


def test_it_rejects_comparisons_on_an_enum() -> None:
    assert str(error_for("status:>a")) == "Operator > is not supported for field 'status'"


# --- integers -------------------------------------------------------------------------------


def test_it_matches_an_integer_exactly() -> None:
    assert compile_q("metadata.version:2") == Q(version=2)


def test_it_accepts_a_quoted_or_signed_integer() -> None:
    assert compile_q('metadata.version:"-2"') == Q(version=-2)


@pytest.mark.parametrize(("op", "suffix"), [(">", "gt"), ("<", "lt"), (">=", "gte"), ("<=", "lte")])
def test_it_maps_integer_comparisons_to_lookups(op: str, suffix: str) -> None:
    assert compile_q(f"metadata.version:{op}2") == Q(**{f"version__{suffix}": 2})


def test_it_matches_an_integer_range() -> None:
    assert compile_q("metadata.version:(>=2 AND <5)") == Q(version__gte=2) & Q(version__lt=5)


def test_it_matches_any_of_several_integers() -> None:
    assert compile_q("metadata.version:(1,2,3)") == Q(version__in=[1, 2, 3])


@pytest.mark.parametrize("text", ["two", "1.5", "1_000", "١٢", "", "+", "99999999999999999999"])
def test_it_rejects_a_value_that_is_not_an_integer(text: str) -> None:
    error = error_for(f'metadata.version:"{text}"')
    assert str(error) == f"Invalid integer '{text}' for field 'metadata.version'"
    assert error.field == "metadata.version"


def test_it_rejects_contains_on_an_integer() -> None:
    assert str(error_for("metadata.version:~1")) == "Operator ~ is not supported for field 'metadata.version'"


# --- date-times -----------------------------------------------------------------------------

NOV_4 = datetime(2025, 11, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2025-11-04T00:00:00.000Z",
        "2025-11-04T00:00:00Z",
        "2025-11-04",
        "2025-11-04T00:00:00",
        "2025-11-04T01:00+01:00",
    ],
)
def test_it_reads_iso_dates_as_utc_datetimes(text: str) -> None:
    assert compile_q(f'metadata.createdAt:"{text}"') == Q(created_at=NOV_4)


def test_it_reads_a_bare_iso_datetime_in_a_comparison() -> None:
    assert compile_q("metadata.createdAt:>=2025-11-04T00:00:00Z") == Q(created_at__gte=NOV_4)


def test_it_matches_a_datetime_range() -> None:
    q = 'metadata.createdAt:(>="2025-11-04T00:00:00.000Z" AND <"2025-11-05T00:00:00.000Z")'
    assert compile_q(q) == Q(created_at__gte=NOV_4) & Q(created_at__lt=NOV_4 + timedelta(days=1))


def test_it_matches_any_of_several_datetimes() -> None:
    q = "metadata.modifiedAt:(2025-11-04,2025-11-05)"
    assert compile_q(q) == Q(modified_at__in=[NOV_4, NOV_4 + timedelta(days=1)])


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01", "2025-11-04T25:00:00Z", "0001-01-01T00:00:00+01:00"])
def test_it_rejects_an_invalid_datetime_naming_it(text: str) -> None:
    error = error_for(f'metadata.createdAt:"{text}"')
    assert str(error).startswith(f"Invalid date-time '{text}' for field 'metadata.createdAt'")
    assert error.field == "metadata.createdAt"


def test_it_rejects_contains_on_a_datetime() -> None:
    assert error_for("metadata.createdAt:~2025").field == "metadata.createdAt"


# --- unknown fields -------------------------------------------------------------------------


def test_it_rejects_an_unknown_field_listing_the_searchable_ones() -> None:
    error = error_for("foo:bar")
    assert str(error) == f"Unknown field 'foo' in q; searchable fields: {', '.join(sorted(SPECS))}"
    assert error.field == "foo"


def test_it_treats_field_names_case_sensitively() -> None:
    assert error_for("Status:success").field == "Status"


# --- properties -----------------------------------------------------------------------------

ALPHABET = st.sampled_from(
    [
        *"abxAB0129",
        ":",
        '"',
        "(",
        ")",
        ",",
        "~",
        "<",
        ">",
        "=",
        ".",
        "-",
        " ",
        "AND",
        "null",
        "exists",
        "status",
        "type",
        "message",
        "metadata.version",
        "metadata.createdAt",
        "2025-11-04",
        "T00:00:00Z",
        "IMPORT",
    ]
)


def assert_compiles_or_rejects(q: str) -> None:
    try:
        result = build_filter(parse_query(q), SPECS)
    except QueryError as error:
        assert error.message
        assert error.field
    else:
        assert isinstance(result, Q)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_it_never_raises_anything_but_a_query_error_when_compiling_arbitrary_text(q: str) -> None:
    assert_compiles_or_rejects(q)


@settings(max_examples=500, deadline=None)
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_it_never_raises_anything_but_a_query_error_when_compiling_grammar_like_text(q: str) -> None:
    assert_compiles_or_rejects(q)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["metadata.createdAt", "metadata.version", "status", "message"]), st.text(max_size=40))
def test_it_never_raises_anything_but_a_query_error_for_any_quoted_value(field: str, text: str) -> None:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    for template in ('{f}:"{v}"', '{f}:>"{v}"', '{f}:~"{v}"', '{f}:("{v}")'):
        assert_compiles_or_rejects(template.format(f=field, v=escaped))


INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SUFFIX = {">": "gt", "<": "lt", ">=": "gte", "<=": "lte"}
OPS = st.sampled_from(sorted(SUFFIX))
OFFSETS = st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(
    lambda delta: timezone(timedelta(minutes=delta // timedelta(minutes=1)))
)
DATETIMES = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=OFFSETS)


@given(INT64, OPS)
def test_it_compiles_any_integer_comparison(number: int, op: str) -> None:
    assert compile_q(f"metadata.version:{op}{number}") == Q(**{f"version__{SUFFIX[op]}": number})


@given(st.lists(INT64, min_size=1, max_size=5))
def test_it_compiles_any_list_of_integers(numbers: list[int]) -> None:
    q = "metadata.version:(" + ",".join(map(str, numbers)) + ")"
    assert compile_q(q) == Q(version__in=list(dict.fromkeys(numbers)))


@given(DATETIMES, DATETIMES)
def test_it_compiles_any_datetime_range_to_utc(low: datetime, high: datetime) -> None:
    q = f"metadata.createdAt:(>={low.isoformat()} AND <{high.isoformat()})"
    expected = Q(created_at__gte=low.astimezone(UTC)) & Q(created_at__lt=high.astimezone(UTC))
    assert compile_q(q) == expected


@given(st.sampled_from(["IMPORT", "EXPORT"]), st.data())
def test_it_compiles_an_enum_value_in_any_casing(choice: str, data: st.DataObject) -> None:
    casing = data.draw(st.lists(st.booleans(), min_size=len(choice), max_size=len(choice)))
    text = "".join(c.lower() if lower else c for c, lower in zip(choice, casing, strict=True))
    assert compile_q(f"type:{text}") == Q(type=choice)


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30))
def test_it_compiles_any_quoted_text_to_an_exact_and_a_contains_match(text: str) -> None:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    assert compile_q(f'message:"{escaped}"') == Q(message=text)
    assert compile_q(f'message:~"{escaped}"') == Q(message__icontains=text)

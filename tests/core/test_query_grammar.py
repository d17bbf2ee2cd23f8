"""Parsing of the `q` query language into its syntax tree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core.query import QueryError, grammar, parse_query
from apps.core.query.ast import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Contains,
    Equals,
    Exists,
    IsNull,
    Missing,
    Op,
    Term,
    Value,
)
from apps.core.query.grammar import FIELD_PATTERN, MAX_QUERY_LENGTH

KEYWORDS = {"null": IsNull(), "exists": Exists(), "missing": Missing()}


def bare(text: str) -> Value:
    return Value(text, quoted=False)


def quoted(text: str) -> Value:
    return Value(text, quoted=True)


def error_for(q: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_query(q)
    return caught.value


# --- the documented forms -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("status:success", [Term("status", Equals(bare("success")))]),
        ('message:"two words"', [Term("message", Equals(quoted("two words")))]),
        ("metadata.version:>2", [Term("metadata.version", Compare(Op.GT, bare("2")))]),
        ("metadata.version:<2", [Term("metadata.version", Compare(Op.LT, bare("2")))]),
        ("metadata.version:>=2", [Term("metadata.version", Compare(Op.GTE, bare("2")))]),
        ("metadata.version:<=2", [Term("metadata.version", Compare(Op.LTE, bare("2")))]),
        ("type:(IMPORT,EXPORT)", [Term("type", AnyOf((bare("IMPORT"), bare("EXPORT"))))]),
        ("type:(IMPORT)", [Term("type", AnyOf((bare("IMPORT"),)))]),
        ('type:( IMPORT , "x y" )', [Term("type", AnyOf((bare("IMPORT"), quoted("x y"))))]),
        ("agentId:null", [Term("agentId", IsNull())]),
        ("commerceEvent:exists", [Term("commerceEvent", Exists())]),
        ("commerceEvent:missing", [Term("commerceEvent", Missing())]),
        ("message:~refund", [Term("message", Contains(bare("refund")))]),
        ('message:~"two words"', [Term("message", Contains(quoted("two words")))]),
    ],
)
def test_it_parses_each_documented_form(q: str, expected: list[Term]) -> None:
    assert parse_query(q) == expected


def test_it_parses_a_date_range_with_quoted_bounds() -> None:
    q = 'metadata.createdAt:(>="2025-11-04T00:00:00.000Z" AND <"2025-11-05T00:00:00.000Z")'
    assert parse_query(q) == [
        Term(
            "metadata.createdAt",
            AllOf(
                (
                    Compare(Op.GTE, quoted("2025-11-04T00:00:00.000Z")),
                    Compare(Op.LT, quoted("2025-11-05T00:00:00.000Z")),
                )
            ),
        )
    ]


def test_it_parses_a_range_of_three_comparisons_with_loose_spacing() -> None:
    assert parse_query("v:( > 1 AND <= 5  AND >= 2 )") == [
        Term("v", AllOf((Compare(Op.GT, bare("1")), Compare(Op.LTE, bare("5")), Compare(Op.GTE, bare("2")))))
    ]


def test_it_lets_a_bare_value_contain_colons() -> None:
    assert parse_query("metadata.createdAt:>=2025-11-04T00:00:00Z") == [
        Term("metadata.createdAt", Compare(Op.GTE, bare("2025-11-04T00:00:00Z")))
    ]


def test_it_ands_terms_separated_by_any_whitespace() -> None:
    assert parse_query("  a:1 \t b:2\nc:exists  ") == [
        Term("a", Equals(bare("1"))),
        Term("b", Equals(bare("2"))),
        Term("c", Exists()),
    ]


def test_it_keeps_repeated_fields_as_separate_terms() -> None:
    assert parse_query("a:1 a:2") == [Term("a", Equals(bare("1"))), Term("a", Equals(bare("2")))]


def test_it_tolerates_whitespace_after_the_colon() -> None:
    assert parse_query("status:  success") == [Term("status", Equals(bare("success")))]


def test_it_treats_a_quoted_keyword_as_a_literal_string() -> None:
    assert parse_query('agentId:"null"') == [Term("agentId", Equals(quoted("null")))]


def test_it_treats_a_word_merely_starting_with_a_keyword_as_a_value() -> None:
    assert parse_query("agentId:nullable") == [Term("agentId", Equals(bare("nullable")))]


def test_it_treats_keywords_inside_a_list_as_literal_values() -> None:
    assert parse_query("agentId:(null,exists)") == [Term("agentId", AnyOf((bare("null"), bare("exists"))))]


def test_it_unescapes_quotes_and_backslashes_inside_quoted_values() -> None:
    assert parse_query(r'message:"say \"hi\" \\ bye"') == [Term("message", Equals(quoted('say "hi" \\ bye')))]


def test_it_keeps_other_backslashes_literally() -> None:
    assert parse_query(r'message:"a\nb"') == [Term("message", Equals(quoted("a\\nb")))]


def test_it_keeps_percent_and_underscore_in_a_contains_value() -> None:
    assert parse_query("message:~50%_off") == [Term("message", Contains(bare("50%_off")))]


def test_it_accepts_an_empty_quoted_value() -> None:
    assert parse_query('message:""') == [Term("message", Equals(quoted("")))]


@pytest.mark.parametrize("q", ["", " ", "\t\n  \r"])
def test_it_returns_no_terms_for_an_empty_query(q: str) -> None:
    assert parse_query(q) == []


# --- errors ---------------------------------------------------------------------------------


def test_it_rejects_an_unbalanced_quote() -> None:
    assert str(error_for('message:"abc')) == "Unbalanced quote at position 9"


def test_it_rejects_a_quote_left_open_by_an_escape() -> None:
    assert str(error_for('message:"abc\\"')) == "Unbalanced quote at position 9"


def test_it_rejects_an_unclosed_parenthesis() -> None:
    assert str(error_for("type:(IMPORT,EXPORT")) == "Unbalanced parenthesis at position 6"


def test_it_rejects_a_stray_closing_parenthesis() -> None:
    assert str(error_for("type:IMPORT)")) == "Unbalanced parenthesis at position 12"


def test_it_ignores_parentheses_inside_quotes_when_checking_balance() -> None:
    assert parse_query('message:"(("') == [Term("message", Equals(quoted("((")))]


def test_it_rejects_a_field_without_a_colon() -> None:
    assert str(error_for("status success")) == "Expected ':' after 'status' at position 7"


def test_it_rejects_a_trailing_field_without_a_colon() -> None:
    assert str(error_for("a:1 status")) == "Expected ':' after 'status' at position 11"


def test_it_rejects_an_equals_sign_instead_of_a_colon() -> None:
    assert str(error_for("status=success")) == "Expected ':' after 'status' at position 7"


@pytest.mark.parametrize(("q", "position"), [("status:", 8), ("status: ", 9), ("v:>", 4), ("v:~", 4)])
def test_it_rejects_a_missing_value(q: str, position: int) -> None:
    assert str(error_for(q)) == f"Expected a value at position {position}"


@pytest.mark.parametrize("q", ["1abc:x", ":x", "a.:x", "-a:x"])
def test_it_rejects_an_invalid_field_name(q: str) -> None:
    assert "position" in str(error_for(q))


def test_it_rejects_a_field_name_that_does_not_start_the_query() -> None:
    assert str(error_for(":x")) == "Expected a field name at position 1"


def test_it_rejects_terms_that_are_not_separated_by_whitespace() -> None:
    assert str(error_for('a:"x"b:c')) == "Expected whitespace or end of query at position 6"


def test_it_rejects_an_empty_list() -> None:
    assert str(error_for("type:()")) == "Expected a value at position 7"


def test_it_rejects_a_trailing_comma_in_a_list() -> None:
    assert str(error_for("type:(A,)")) == "Expected a value at position 9"


def test_it_rejects_a_list_mixing_values_and_comparisons() -> None:
    assert str(error_for("v:(1, >2)")) == "Expected a value at position 7"


def test_it_rejects_a_range_joined_by_something_other_than_and() -> None:
    assert str(error_for("v:(>1 OR <2)")) == "Expected 'AND' or ')' at position 7"


def test_it_rejects_a_range_with_a_value_that_is_not_a_comparison() -> None:
    assert str(error_for("v:(>1 AND 2)")).startswith("Expected a comparison operator")


def test_it_rejects_a_range_with_a_single_comparison() -> None:
    assert str(error_for("v:(>1)")) == "A range needs two or more comparisons joined by AND at position 3"


def test_it_rejects_nested_parentheses() -> None:
    assert str(error_for("v:((1))")) == "Expected a value at position 4"


def test_it_rejects_a_value_starting_with_a_reserved_character() -> None:
    assert str(error_for("v:<<1")) == "Expected a value at position 4"


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\ud800"])
def test_it_rejects_control_characters_and_lone_surrogates(char: str) -> None:
    assert str(error_for(f'message:"a{char}"')) == f"Invalid character U+{ord(char):04X} at position 11"


def test_it_rejects_a_query_longer_than_the_limit() -> None:
    error = error_for("a:" + "x" * MAX_QUERY_LENGTH)
    assert str(error).startswith("Query is too long")


def test_it_accepts_a_query_exactly_at_the_limit() -> None:
    q = "a:" + "x" * (MAX_QUERY_LENGTH - 2)
    assert parse_query(q) == [Term("a", Equals(bare("x" * (MAX_QUERY_LENGTH - 2))))]


def test_it_attributes_syntax_errors_to_the_q_parameter() -> None:
    error = error_for("status success")
    assert error.field == "q"
    assert error.message == str(error)
    assert isinstance(error, ValueError)


# --- properties -----------------------------------------------------------------------------

GRAMMAR_ALPHABET = st.sampled_from(
    [*"abcxyzABCXYZ0129", ":", '"', "(", ")", ",", "~", "<", ">", "=", ".", "-", " ", "\\", "AND", "null"]
)


def assert_parses_or_rejects(q: str) -> None:
    try:
        result = parse_query(q)
    except QueryError as error:
        assert error.message
    else:
        assert isinstance(result, list)
        assert all(isinstance(term, Term) for term in result)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_it_never_raises_anything_but_a_query_error_for_arbitrary_text(q: str) -> None:
    assert_parses_or_rejects(q)


@settings(max_examples=500, deadline=None)
@given(st.lists(GRAMMAR_ALPHABET, max_size=60).map("".join))
def test_it_never_raises_anything_but_a_query_error_for_grammar_like_text(q: str) -> None:
    assert_parses_or_rejects(q)


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=5).map(lambda s: (s * 2000)[:2500]))
def test_it_never_raises_anything_but_a_query_error_for_long_text(q: str) -> None:
    assert_parses_or_rejects(q)


def test_it_rejects_deeply_nested_parentheses_cleanly() -> None:
    assert str(error_for("a:" + "(" * 900 + ")" * 900)).startswith("Expected a value")


# Strategies for valid queries: each yields the query text and the Term it must parse to.

VALUE_CHAR = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters='()",').filter(
    lambda c: not c.isspace()
)
FIELDS = st.from_regex(FIELD_PATTERN, fullmatch=True)
SPACE = st.sampled_from(["", " ", "  ", "\t"])
SEPARATOR = st.sampled_from([" ", "   ", "\t", "\n", " \r\n "])
OPS = st.sampled_from(list(Op))


@st.composite
def bare_values(draw: st.DrawFn) -> tuple[str, Value]:
    first = draw(VALUE_CHAR.filter(lambda c: c not in "<>~"))
    text = first + draw(st.text(VALUE_CHAR, max_size=15))
    return text, bare(text)


@st.composite
def quoted_values(draw: st.DrawFn) -> tuple[str, Value]:
    text = draw(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=15))
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"', quoted(text)


VALUES = st.one_of(bare_values(), quoted_values())
PLAIN_VALUES = st.one_of(bare_values().filter(lambda pair: pair[0] not in KEYWORDS), quoted_values())


@st.composite
def comparisons(draw: st.DrawFn) -> tuple[str, Compare]:
    op = draw(OPS)
    text, value = draw(VALUES)
    space = draw(SPACE)
    if not space and text.startswith("=") and op.value in ("<", ">"):
        space = " "  # `>=0` is >= 0; "> then =0" needs the space to be told apart
    return f"{op.value}{space}{text}", Compare(op, value)


@st.composite
def any_ofs(draw: st.DrawFn) -> tuple[str, AnyOf]:
    items = draw(st.lists(VALUES, min_size=1, max_size=4))
    comma = draw(st.sampled_from([",", ", ", " , "]))
    text = "(" + draw(SPACE) + comma.join(text for text, _ in items) + draw(SPACE) + ")"
    return text, AnyOf(tuple(value for _, value in items))


@st.composite
def all_ofs(draw: st.DrawFn) -> tuple[str, AllOf]:
    items = draw(st.lists(comparisons(), min_size=2, max_size=4))
    joiner = draw(st.sampled_from([" AND ", "  AND\t"]))
    text = "(" + draw(SPACE) + joiner.join(text for text, _ in items) + draw(SPACE) + ")"
    return text, AllOf(tuple(compare for _, compare in items))


def _equals(pair: tuple[str, Value]) -> tuple[str, Condition]:
    return pair[0], Equals(pair[1])


def _contains(pair: tuple[str, Value]) -> tuple[str, Condition]:
    return "~" + pair[0], Contains(pair[1])


CONDITIONS: st.SearchStrategy[tuple[str, Condition]] = st.one_of(
    PLAIN_VALUES.map(_equals),
    st.sampled_from(sorted(KEYWORDS.items())),
    comparisons(),
    VALUES.map(_contains),
    any_ofs(),
    all_ofs(),
)


@st.composite
def terms(draw: st.DrawFn) -> tuple[str, Term]:
    field = draw(FIELDS)
    text, condition = draw(CONDITIONS)
    return f"{field}:{draw(SPACE)}{text}", Term(field, condition)


@settings(max_examples=300, deadline=None)
@given(st.lists(terms(), max_size=5), st.data())
def test_it_parses_generated_valid_queries_to_the_expected_terms(
    generated: list[tuple[str, Term]], data: st.DataObject
) -> None:
    pieces = [text for text, _ in generated]
    q = data.draw(SPACE) + "".join(piece + data.draw(SEPARATOR) for piece in pieces)
    assert parse_query(q) == [term for _, term in generated]


def test_a_short_q_seen_again_is_parsed_once_and_each_caller_gets_its_own_list():
    grammar._parse_kept.cache_clear()
    first = parse_query("status:failure type:EXPORT")
    first.append("changed by its caller")

    again = parse_query("status:failure type:EXPORT")

    assert again == first[:-1]
    assert grammar._parse_kept.cache_info().hits == 1


def test_a_long_q_is_not_kept_and_a_bad_q_is_refused_every_time():
    grammar._parse_kept.cache_clear()
    long_q = "message:~" + "x" * grammar._KEPT_LENGTH

    assert parse_query(long_q) and grammar._parse_kept.cache_info().currsize == 0
    for _ in range(2):
        with pytest.raises(QueryError):
            parse_query("status:(failure")

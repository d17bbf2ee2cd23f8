"""Parser for the `q` query language.

Whitespace is a real token rather than ignored: it is what separates terms, and keeping it
lets errors such as ``status success`` point at the gap where the ':' belongs.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.tree import Meta

from .ast import AllOf, AnyOf, Compare, Condition, Contains, Equals, Exists, IsNull, Missing, Op, Term, Value
from .errors import QueryError

MAX_QUERY_LENGTH = 2000

FIELD_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"

_GRAMMAR = rf"""
start: _WS? _terms?
_terms: term (_WS term)* _WS?

term: FIELD _COLON _WS? _condition
_condition: equals | is_null | exists | missing | comparison | contains | any_of | all_of

equals: value
is_null: _NULL
exists: _EXISTS
missing: _MISSING
contains: _TILDE value
comparison: OP _WS? value
any_of: _LPAR _WS? value (_WS? _COMMA _WS? value)* _WS? _RPAR
all_of: _LPAR _WS? comparison (_WS? _AND _WS? comparison)* _WS? _RPAR

value: STRING | BARE

FIELD: /{FIELD_PATTERN}/
STRING: /"(?:[^"\\]|\\[\s\S])*"/
BARE: /[^\s()",<>~][^\s()",]*/
OP: ">=" | "<=" | ">" | "<"
_COLON: ":"
_TILDE: "~"
_LPAR: "("
_RPAR: ")"
_COMMA: ","
_AND: "AND"
_NULL: "null"
_EXISTS: "exists"
_MISSING: "missing"
_WS: /\s+/
"""

_PARSER = Lark(
    _GRAMMAR,
    parser="lalr",
    lexer="contextual",
    propagate_positions=True,
    maybe_placeholders=False,
)

_ESCAPE = re.compile(r'\\(["\\])')
_TRAILING_FIELD = re.compile(rf"({FIELD_PATTERN})\s*$")
# Tab, LF and CR are ordinary whitespace; every other control character (notably NUL, which
# PostgreSQL refuses in text) and lone surrogates (not encodable as UTF-8) are rejected.
_ALLOWED_CONTROL = frozenset("\t\n\r")
_REJECTED_CATEGORIES = frozenset({"Cc", "Cs"})

# Listed in the order they read best in "Expected X or Y".
_TOKEN_NAMES = {
    "FIELD": "a field name",
    "_COLON": "':'",
    "OP": "a comparison operator (>, <, >=, <=)",
    "_AND": "'AND'",
    "_COMMA": "','",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "$END": "end of query",
}


# The dashboard sends the same few q again and again: a parse is kept for each of the last ones seen (short ones only,
# so the cache stays small whatever clients send). Terms are frozen; each caller gets a list of its own.
_KEPT_PARSES = 512
_KEPT_LENGTH = 1000


def parse_query(q: str) -> list[Term]:
    """Parse `q` into its terms, which are meant to be ANDed; raise QueryError for bad input."""
    return list(_parse_kept(q) if len(q) <= _KEPT_LENGTH else _parse(q))


@functools.lru_cache(maxsize=_KEPT_PARSES)
def _parse_kept(q: str) -> tuple[Term, ...]:
    return _parse(q)  # a QueryError is raised, not kept: a bad q is parsed again, as rare as it should be


def _parse(q: str) -> tuple[Term, ...]:
    _check_characters(q)
    if not q.strip():
        return ()
    _check_balance(q)
    try:
        tree = _PARSER.parse(q)
        return tuple(_AstBuilder().transform(tree))
    except VisitError as exc:
        if isinstance(exc.orig_exc, QueryError):
            raise exc.orig_exc from None
        raise QueryError("Invalid query") from exc
    except UnexpectedInput as exc:
        raise QueryError(_describe(exc, q)) from None
    except (LarkError, RecursionError) as exc:
        raise QueryError("Invalid query") from exc


def _check_characters(q: str) -> None:
    if len(q) > MAX_QUERY_LENGTH:
        raise QueryError(f"Query is too long: {len(q)} characters (maximum {MAX_QUERY_LENGTH})")
    for index, char in enumerate(q):
        if char not in _ALLOWED_CONTROL and unicodedata.category(char) in _REJECTED_CATEGORIES:
            raise QueryError(f"Invalid character U+{ord(char):04X} at position {index + 1}")


def _check_balance(q: str) -> None:
    """Report quote and parenthesis mismatches up front: the parser would only see a stray token."""
    open_parens: list[int] = []
    quote_start: int | None = None
    escaped = False
    for index, char in enumerate(q):
        if quote_start is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quote_start = None
        elif char == '"':
            quote_start = index
        elif char == "(":
            open_parens.append(index)
        elif char == ")":
            if not open_parens:
                raise QueryError(f"Unbalanced parenthesis at position {index + 1}")
            open_parens.pop()
    if quote_start is not None:
        raise QueryError(f"Unbalanced quote at position {quote_start + 1}")
    if open_parens:
        raise QueryError(f"Unbalanced parenthesis at position {open_parens[-1] + 1}")


def _describe(exc: UnexpectedInput, q: str) -> str:
    position, expected = _error_position(exc, q)
    if expected == {"_COLON"}:
        before = _TRAILING_FIELD.search(q[: position - 1])
        if before:
            return f"Expected ':' after '{before.group(1)}' at position {position}"
    return f"Expected {_expected_text(expected)} at position {position}"


def _error_position(exc: UnexpectedInput, q: str) -> tuple[int, set[str]]:
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        position = (exc.token.start_pos or 0) + 1
    elif isinstance(exc, UnexpectedCharacters):
        position = (exc.pos_in_stream or 0) + 1
    else:
        position = len(q) + 1
    return position, _accepted_at_error(q)


def _accepted_at_error(q: str) -> set[str]:
    """Replay the parse to learn what really fits at the failure point.

    The sets carried by Lark's exceptions come from LALR states shared between contexts, so
    they can list tokens (say ',' after a plain value) that could never appear there.
    """
    interactive = _PARSER.parse_interactive(q)
    try:
        for _token in interactive.iter_parse():
            pass
    except UnexpectedInput:
        pass
    # Lark leaves accepts() unannotated; it returns terminal names.
    accepted: set[str] = interactive.accepts()  # type: ignore[no-untyped-call]
    return accepted


def _expected_text(expected: set[str]) -> str:
    if "BARE" in expected:
        return "a value"
    meaningful = expected - {"_WS"}
    if not meaningful:
        return "whitespace"
    if meaningful == {"$END"}:
        return "whitespace or end of query"
    # Ending the query early is always allowed somewhere; offering it only distracts.
    meaningful.discard("$END")
    return " or ".join(text for name, text in _TOKEN_NAMES.items() if name in meaningful)


def _unquote(token: Token) -> Value:
    if token.type == "STRING":
        return Value(_ESCAPE.sub(r"\1", token.value[1:-1]), quoted=True)
    return Value(token.value, quoted=False)


class _AstBuilder(Transformer[Token, list[Term]]):
    """Turns the Lark tree into the frozen dataclasses of `ast`."""

    def start(self, children: list[Term]) -> list[Term]:
        return list(children)

    def term(self, children: list[Token | Condition]) -> Term:
        field, condition = children
        assert isinstance(field, Token) and not isinstance(condition, Token)
        return Term(field=field.value, condition=condition)

    def value(self, children: list[Token]) -> Value:
        return _unquote(children[0])

    def equals(self, children: list[Value]) -> Equals:
        return Equals(children[0])

    def is_null(self, _children: list[object]) -> IsNull:
        return IsNull()

    def exists(self, _children: list[object]) -> Exists:
        return Exists()

    def missing(self, _children: list[object]) -> Missing:
        return Missing()

    def contains(self, children: list[Value]) -> Contains:
        return Contains(children[0])

    def comparison(self, children: list[Token | Value]) -> Compare:
        op, value = children
        assert isinstance(op, Token) and isinstance(value, Value)
        return Compare(Op(op.value), value)

    def any_of(self, children: list[Value]) -> AnyOf:
        return AnyOf(tuple(children))

    @v_args(meta=True)
    def all_of(self, meta: Meta, children: list[Compare]) -> AllOf:
        if len(children) < 2:
            # A lone comparison in parentheses is almost certainly a half-written range.
            raise QueryError(f"A range needs two or more comparisons joined by AND at position {meta.start_pos + 1}")
        return AllOf(tuple(children))

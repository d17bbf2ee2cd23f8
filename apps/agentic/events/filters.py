"""The filter of a `commerce_events` trigger, applied to one event: does the agent run, and if not, why not.

A leaf `{left, op, right?}` compares the value at `left`, a dot path resolved against the whole event body
(`payload.order.currency`; a segment of digits indexes into a list, `payload.order.entries.0.sku`), with `right`.
A compound `{op: $and|$or, conditions}` joins filters. What upstream leaves open, decided here:

- `$eq` / `$ne` are strict on the JSON type: the string "5" is not the number 5, and true is not 1 (numbers compare
  as numbers, so 5 equals 5.0). A value of another type than `right`, null, or a missing value: no match.
- `$in` / `$notIn`: a scalar value is (not) one of `right`; a list value matches `$in` when any of its elements is
  one of `right`, and `$notIn` when none is. A scalar of a type none of `right` has, null, an object, or a missing
  value: no match.
- `$exists` is true when the key is there, even holding null; `$notExists` when it is not.
- `$isEmpty` is true for null, "", [], {} and a missing key; `$notEmpty` is the opposite.

Every "no" comes with a reason a person can read on the skipped job. Stored filters were validated when the agent
was saved (apps/agents/api/serializers/agents.py); anything else found here is a no-match saying so, not an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from apps.agents.triggers import FILTER_LIST_OPS, FILTER_LOGICAL_OPS, FILTER_SCALAR_OPS, FILTER_UNARY_OPS

Outcome = tuple[bool, str]
_MISSING = object()
# Event values can be long (a whole order): a reason quotes only the start of one.
_QUOTE_MAX = 80


def filter_match(condition: Any, body: Any) -> Outcome:
    """(True, why) when `body` passes the filter, (False, why not) when it does not."""
    if not isinstance(condition, Mapping):
        return False, "the filter is not an object"
    op = condition.get("op")
    if op in FILTER_LOGICAL_OPS:
        return _compound(str(op), condition.get("conditions"), body)
    left = condition.get("left")
    if not isinstance(left, str) or not left:
        return False, f"the filter's condition {op} names no field"
    value = resolve(body, left)
    if op in FILTER_UNARY_OPS:
        return _unary(str(op), left, value)
    if op in FILTER_SCALAR_OPS:
        return _scalar(str(op), left, value, condition.get("right"))
    if op in FILTER_LIST_OPS:
        return _listed(str(op), left, value, condition.get("right"))
    return False, f"the filter uses an operator this installation does not know: {_quote(op)}"


def resolve(body: Any, path: str) -> Any:
    """The value at a dot path, or _MISSING."""
    value = body
    for segment in path.split("."):
        if isinstance(value, Mapping) and segment in value:
            value = value[segment]
        elif isinstance(value, list) and segment.isascii() and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return _MISSING
    return value


def _compound(op: str, conditions: Any, body: Any) -> Outcome:
    if not isinstance(conditions, list) or not conditions:
        return False, f"the filter's {op} has no conditions"
    outcomes = [filter_match(condition, body) for condition in conditions]
    if op == "$and":
        failed = [reason for matched, reason in outcomes if not matched]
        return (False, failed[0]) if failed else (True, "every condition matches")
    passed = [reason for matched, reason in outcomes if matched]
    if passed:
        return True, passed[0]
    return False, "none of the conditions matches: " + "; ".join(reason for _, reason in outcomes)


def _unary(op: str, left: str, value: Any) -> Outcome:
    present = value is not _MISSING
    empty = not present or value is None or (isinstance(value, str | list | Mapping) and len(value) == 0)
    if op == "$exists":
        return (True, f"{left} is present") if present else (False, f"{left} is missing")
    if op == "$notExists":
        return (True, f"{left} is missing") if not present else (False, f"{left} is present")
    shown = "missing" if not present else _quote(value)
    if op == "$isEmpty":
        return (True, f"{left} is empty") if empty else (False, f"{left} is not empty: {shown}")
    return (True, f"{left} is not empty") if not empty else (False, f"{left} is empty: {shown}")


def _scalar(op: str, left: str, value: Any, right: Any) -> Outcome:
    problem = _comparable(left, value, [right])
    if problem:
        return False, problem
    equal = value == right
    if op == "$eq":
        return _says(equal, f"{left} is {_quote(right)}", f"{left} is {_quote(value)}, not {_quote(right)}")
    return _says(not equal, f"{left} is not {_quote(right)}", f"{left} is {_quote(right)}")


def _listed(op: str, left: str, value: Any, right: Any) -> Outcome:
    if not isinstance(right, list) or not right:
        return False, f"the filter's {op} on {left} has no list of values"
    if isinstance(value, list):
        hits = [element for element in value if any(_same(element, option) for option in right)]
        held = f"{left} holds {_quote(hits[0])}" if hits else ""
        none_held = f"no element of {left} is one of {_quote(right)}"
        return _says(bool(hits), held, none_held) if op == "$in" else _says(not hits, none_held, held)
    problem = _comparable(left, value, right)
    if problem:
        return False, problem
    found = any(_same(value, option) for option in right)
    if op == "$in":
        return _says(found, f"{left} is {_quote(value)}", f"{left} is {_quote(value)}, not one of {_quote(right)}")
    return _says(
        not found, f"{left} is not one of {_quote(right)}", f"{left} is {_quote(value)}, one of {_quote(right)}"
    )


def _says(matched: bool, why: str, why_not: str) -> Outcome:
    return (True, why) if matched else (False, why_not)


def _comparable(left: str, value: Any, options: list[Any]) -> str | None:
    """Why `value` cannot be compared with the filter's `options` (missing, or of no type among theirs)."""
    if value is _MISSING:
        return f"{left} is missing"
    kinds = {_kind(option) for option in options}
    if _kind(value) in kinds:
        return None
    wanted = _article(" or ".join(sorted(kinds)))
    if value is None:
        return f"{left} is null, the filter compares it with {wanted}"
    return f"{left} is {_article(_kind(value))} ({_quote(value)}), the filter compares it with {wanted}"


def _same(value: Any, option: Any) -> bool:
    return _kind(value) == _kind(option) and value == option


def _kind(value: Any) -> str:
    """The JSON type of a value; bool is checked first, as Python counts True as the number 1."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _quote(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _QUOTE_MAX else text[: _QUOTE_MAX - 1] + "…"

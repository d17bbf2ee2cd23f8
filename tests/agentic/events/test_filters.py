"""The commerce event filter DSL (apps/agentic/events/filters.py): every operator, what a type mismatch does, and
the reason given for a no-match."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agentic.events.filters import filter_match, resolve

EVENT: dict[str, Any] = {
    "id": "evt-1",
    "event": "order.order-created",
    "payload": {
        "order": {
            "id": "ord-1",
            "currency": "EUR",
            "totalPrice": 99.5,
            "quantity": 2,
            "paid": True,
            "note": None,
            "tags": ["gift", "express"],
            "emptyText": "",
            "emptyList": [],
            "emptyObject": {},
            "entries": [{"sku": "A-1"}, {"sku": "B-2"}],
        },
        "customer": {"id": "cus-7", "email": "eve@example.com"},
    },
}


def leaf(left: str, op: str, right: Any = None) -> dict[str, Any]:
    return {"left": left, "op": op, **({"right": right} if right is not None else {})}


def matches(condition: dict[str, Any]) -> bool:
    return filter_match(condition, EVENT)[0]


def test_paths_resolve_against_the_whole_body_and_index_lists_by_number() -> None:
    assert resolve(EVENT, "event") == "order.order-created"
    assert resolve(EVENT, "payload.order.currency") == "EUR"
    assert resolve(EVENT, "payload.order.entries.1.sku") == "B-2"
    assert resolve(EVENT, "payload.order.tags") == ["gift", "express"]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (leaf("payload.order.currency", "$eq", "EUR"), True),
        (leaf("payload.order.currency", "$eq", "USD"), False),
        (leaf("payload.order.totalPrice", "$eq", 99.5), True),
        (leaf("payload.order.quantity", "$eq", 2.0), True),  # one JSON number type: 2 is 2.0
        (leaf("payload.order.paid", "$eq", True), True),
        (leaf("payload.order.entries.0.sku", "$eq", "A-1"), True),
        (leaf("event", "$eq", "order.order-created"), True),
        (leaf("payload.order.currency", "$ne", "USD"), True),
        (leaf("payload.order.currency", "$ne", "EUR"), False),
        (leaf("payload.order.quantity", "$ne", 3), True),
    ],
)
def test_eq_and_ne_compare_a_scalar(condition: dict[str, Any], expected: bool) -> None:
    assert matches(condition) is expected


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        (leaf("payload.order.totalPrice", "$eq", "99.5"), "payload.order.totalPrice is a number (99.5), the filter "),
        (leaf("payload.order.quantity", "$ne", "3"), "is a number (2), the filter compares it with a string"),
        (leaf("payload.order.paid", "$eq", 1), "is a boolean (true), the filter compares it with a number"),
        (leaf("payload.order.quantity", "$eq", True), "is a number (2), the filter compares it with a boolean"),
        (leaf("payload.order.note", "$ne", "x"), "payload.order.note is null, the filter compares it with a string"),
        (leaf("payload.order.tags", "$eq", "gift"), "is a list ("),
        (leaf("payload.order.coupon", "$ne", "x"), "payload.order.coupon is missing"),
        (leaf("payload.order.currency", "$eq", "USD"), 'payload.order.currency is "EUR", not "USD"'),
    ],
)
def test_eq_and_ne_are_strict_on_type_and_say_why_not(condition: dict[str, Any], reason: str) -> None:
    matched, why = filter_match(condition, EVENT)

    assert matched is False
    assert reason in why


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (leaf("payload.order.currency", "$in", ["USD", "EUR"]), True),
        (leaf("payload.order.currency", "$in", ["USD", "GBP"]), False),
        (leaf("payload.order.quantity", "$in", [1, 2]), True),
        (leaf("payload.order.currency", "$notIn", ["USD", "GBP"]), True),
        (leaf("payload.order.currency", "$notIn", ["EUR"]), False),
        # A list on the left: any element counts.
        (leaf("payload.order.tags", "$in", ["express"]), True),
        (leaf("payload.order.tags", "$in", ["fragile"]), False),
        (leaf("payload.order.tags", "$notIn", ["fragile"]), True),
        (leaf("payload.order.tags", "$notIn", ["gift", "fragile"]), False),
        (leaf("payload.order.emptyList", "$in", ["gift"]), False),
        (leaf("payload.order.emptyList", "$notIn", ["gift"]), True),
        # A mixed list on the right: the value is compared with the options of its own type.
        (leaf("payload.order.quantity", "$in", ["2", 2]), True),
    ],
)
def test_in_and_not_in_look_for_the_value_or_any_element_of_a_list(condition: dict[str, Any], expected: bool) -> None:
    assert matches(condition) is expected


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        (leaf("payload.order.quantity", "$in", ["1", "2"]), "is a number (2), the filter compares it with a string"),
        (leaf("payload.order.quantity", "$notIn", ["1"]), "is a number (2), the filter compares it with a string"),
        (leaf("payload.customer", "$notIn", ["x"]), "payload.customer is an object"),
        (leaf("payload.order.note", "$in", ["x"]), "payload.order.note is null"),
        (leaf("payload.order.coupon", "$notIn", ["x"]), "payload.order.coupon is missing"),
        (leaf("payload.order.currency", "$in", ["USD"]), 'payload.order.currency is "EUR", not one of ["USD"]'),
        (leaf("payload.order.tags", "$in", ["fragile"]), 'no element of payload.order.tags is one of ["fragile"]'),
        (leaf("payload.order.tags", "$notIn", ["gift"]), 'payload.order.tags holds "gift"'),
    ],
)
def test_in_and_not_in_say_why_not(condition: dict[str, Any], reason: str) -> None:
    matched, why = filter_match(condition, EVENT)

    assert matched is False
    assert reason in why


@pytest.mark.parametrize(
    ("left", "exists", "empty"),
    [
        ("payload.order.currency", True, False),
        ("payload.order.note", True, True),  # null: present, and empty
        ("payload.order.emptyText", True, True),
        ("payload.order.emptyList", True, True),
        ("payload.order.emptyObject", True, True),
        ("payload.order.coupon", False, True),  # missing: empty
        ("payload.order.quantity", True, False),
        ("payload.order.paid", True, False),
        ("payload.order.tags", True, False),
        ("payload.customer", True, False),
        ("payload.order.currency.code", False, True),  # below a string: missing
        ("payload.order.entries.5.sku", False, True),  # past the end of a list: missing
    ],
)
def test_exists_and_is_empty_and_their_opposites(left: str, exists: bool, empty: bool) -> None:
    assert matches(leaf(left, "$exists")) is exists
    assert matches(leaf(left, "$notExists")) is not exists
    assert matches(leaf(left, "$isEmpty")) is empty
    assert matches(leaf(left, "$notEmpty")) is not empty


def test_unary_operators_say_why_not() -> None:
    assert filter_match(leaf("payload.order.coupon", "$exists"), EVENT) == (False, "payload.order.coupon is missing")
    assert filter_match(leaf("payload.order.note", "$notExists"), EVENT) == (False, "payload.order.note is present")
    assert filter_match(leaf("payload.order.currency", "$isEmpty"), EVENT) == (
        False,
        'payload.order.currency is not empty: "EUR"',
    )
    assert filter_match(leaf("payload.order.coupon", "$notEmpty"), EVENT) == (
        False,
        "payload.order.coupon is empty: missing",
    )


EUR = leaf("payload.order.currency", "$eq", "EUR")
USD = leaf("payload.order.currency", "$eq", "USD")
HAS_EMAIL = leaf("payload.customer.email", "$notEmpty")
NO_COUPON = leaf("payload.order.coupon", "$exists")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"op": "$and", "conditions": [EUR, HAS_EMAIL]}, True),
        ({"op": "$and", "conditions": [EUR, USD]}, False),
        ({"op": "$or", "conditions": [USD, HAS_EMAIL]}, True),
        ({"op": "$or", "conditions": [USD, NO_COUPON]}, False),
        ({"op": "$and", "conditions": [EUR, {"op": "$or", "conditions": [USD, HAS_EMAIL]}]}, True),
        ({"op": "$or", "conditions": [USD, {"op": "$and", "conditions": [EUR, NO_COUPON]}]}, False),
    ],
)
def test_and_and_or_join_conditions_at_any_depth(condition: dict[str, Any], expected: bool) -> None:
    assert matches(condition) is expected


def test_and_names_the_first_condition_that_fails_and_or_names_every_one() -> None:
    assert filter_match({"op": "$and", "conditions": [EUR, USD, NO_COUPON]}, EVENT) == (
        False,
        'payload.order.currency is "EUR", not "USD"',
    )
    matched, why = filter_match({"op": "$or", "conditions": [USD, NO_COUPON]}, EVENT)
    assert matched is False
    assert why == (
        'none of the conditions matches: payload.order.currency is "EUR", not "USD"; payload.order.coupon is missing'
    )


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ("everything", "not an object"),
        ({"op": "$regex", "left": "event", "right": "order"}, 'does not know: "$regex"'),
        ({"op": "$and", "conditions": []}, "$and has no conditions"),
        ({"op": "$eq", "right": "x"}, "names no field"),
        ({"op": "$in", "left": "event", "right": "order.order-created"}, "has no list of values"),
    ],
)
def test_a_filter_that_is_not_valid_matches_nothing_and_says_so(condition: Any, reason: str) -> None:
    matched, why = filter_match(condition, EVENT)

    assert matched is False
    assert reason in why


def test_a_long_value_is_quoted_shortened_in_the_reason() -> None:
    event = {"payload": {"note": "x" * 500}}

    matched, why = filter_match(leaf("payload.note", "$eq", "short"), event)

    assert matched is False
    assert len(why) < 150
    assert why.endswith('…, not "short"')

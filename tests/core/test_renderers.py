"""The API's fast JSON renderer writes the JSON DRF's JSONRenderer wrote: the same bytes, but for the spelling of
some floats (1e-07 is written 1e-7), which is the same number."""

from __future__ import annotations

import decimal
import json
import uuid
from collections import OrderedDict
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer

from apps.core.renderers import FastJSONRenderer

JOB = {
    "id": "6790b0b8c1f0a3c2f1e4d5a6",
    "status": "success",
    "type": "EXPORT",
    "message": 'Refund issued \u2013 20 € ✓ \u2028 line separator, \u2029 paragraph separator, "quoted" \\ \n\t',
    "importResult": {"summary": {"agents": [{"id": "a1", "state": "TO_CREATE"}], "tools": []}},
    "metadata": {"version": 3, "createdAt": "2026-11-30T14:00:00.000Z", "modifiedAt": "2026-11-30T14:00:01.250Z"},
}

SHAPES = {
    "a job": JOB,
    "a page of jobs": [JOB, {"id": "x", "metadata": {"version": 1}}],
    "an empty page": [],
    "an error": {"code": 400, "status": "Bad Request", "message": "pageSize must be at most 1000.", "details": []},
    "scalars": {"t": True, "f": False, "n": None, "i": -(2**63), "big": 2**64 - 1, "x": 1.5, "z": 0.0},
    "instants": {
        "utc": datetime(2026, 11, 30, 14, 0, 0, 123456, tzinfo=UTC),
        "berlin": datetime(2026, 11, 30, 15, 0, tzinfo=timezone(timedelta(hours=1))),
        "zero offset, not UTC": datetime(2026, 1, 1, tzinfo=timezone(timedelta(0), "GMT")),
        "naive": datetime(2026, 11, 30, 14, 0),
        "date": date(2026, 11, 30),
        "time": time(14, 0, 0, 123456),
        "duration": timedelta(hours=1, seconds=3),
    },
    "other types": {
        "decimal": decimal.Decimal("12.50"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "lazy": gettext_lazy("Not found."),
        "detail": ErrorDetail("This field is required.", code="required"),
        "ordered": OrderedDict([("b", 1), ("a", 2)]),
        "tuple": (1, "two"),
    },
    "what orjson refuses": {"int keys": {1: "one"}, "beyond 64 bits": 2**70},
}


@pytest.mark.parametrize("data", SHAPES.values(), ids=SHAPES.keys())
def test_it_writes_the_bytes_drf_wrote(data: Any) -> None:
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_a_pretty_printed_answer_is_still_pretty_printed() -> None:
    media_type = "application/json; indent=2"

    assert FastJSONRenderer().render(JOB, media_type) == JSONRenderer().render(JOB, media_type)
    assert b'\n  "id"' in FastJSONRenderer().render(JOB, media_type)


def test_no_data_is_an_empty_body() -> None:
    assert FastJSONRenderer().render(None) == b""


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def test_a_float_is_the_same_number_if_not_always_the_same_spelling() -> None:
    data = {"small": 1e-7, "large": 1e22, "third": 1 / 3}

    assert json.loads(FastJSONRenderer().render(data)) == json.loads(JSONRenderer().render(data)) == data


@given(_JSON.filter(lambda value: value is not None))  # None is no body at all (above)
def test_any_json_value_is_written_as_drf_wrote_it(data: Any) -> None:
    fast, drf = FastJSONRenderer().render(data), JSONRenderer().render(data)

    assert json.loads(fast) == json.loads(drf)
    if not _has_float(data):
        assert fast == drf


def _has_float(data: Any) -> bool:
    if isinstance(data, float):
        return True
    if isinstance(data, dict):
        return any(_has_float(v) for v in data.values())
    return isinstance(data, list) and any(_has_float(v) for v in data)

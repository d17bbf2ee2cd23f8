from datetime import UTC, datetime, timedelta, timezone

import pytest

from apps.core.timefmt import format_instant, now_ms, parse_instant


def test_instants_are_written_in_utc_with_milliseconds_and_z():
    value = datetime(2025, 7, 25, 12, 30, 27, 167_891, tzinfo=timezone(timedelta(hours=2)))
    assert format_instant(value) == "2025-07-25T10:30:27.167Z"


def test_parsing_accepts_z_offsets_and_naive_values_as_utc():
    assert parse_instant("2025-07-25T10:30:27.167Z") == datetime(2025, 7, 25, 10, 30, 27, 167_000, tzinfo=UTC)
    assert parse_instant("2025-07-25T12:30:27+02:00") == datetime(2025, 7, 25, 10, 30, 27, tzinfo=UTC)
    assert parse_instant("2025-07-25T10:30:27") == datetime(2025, 7, 25, 10, 30, 27, tzinfo=UTC)


def test_parsing_refuses_what_is_not_an_instant():
    with pytest.raises(ValueError):
        parse_instant("yesterday")


def test_now_is_truncated_to_milliseconds():
    assert now_ms().microsecond % 1000 == 0

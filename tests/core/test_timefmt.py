from datetime import UTC, datetime, timedelta, timezone

import pytest

from apps.core.timefmt import InstantText, format_instant, now_ms, parse_instant
from apps.jobs.models import Job


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


INSTANTS = [
    datetime(2026, 11, 30, 16, 24, 7, 0, tzinfo=UTC),  # no fraction: SQLite stores none
    datetime(2026, 11, 30, 16, 24, 7, 999_999, tzinfo=UTC),  # truncated, never rounded up to the next second
    datetime(2026, 1, 1, 0, 0, 0, 1_000, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 59, 59, 999, tzinfo=UTC),
    datetime(2026, 6, 15, 2, 30, 0, 120_000, tzinfo=timezone(timedelta(hours=5, minutes=30))),  # any zone in
]


@pytest.mark.django_db
@pytest.mark.parametrize("instant", INSTANTS)
def test_the_database_writes_an_instant_as_format_instant_does(tenant, instant):
    job = Job.objects.create(tenant=tenant, type=Job.Type.EXPORT, job_id="j1")
    Job.objects.filter(pk=job.pk).update(created_at=instant)

    text = Job.objects.filter(pk=job.pk).values_list(InstantText("created_at"), flat=True).get()

    assert text == format_instant(instant)

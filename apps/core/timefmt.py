"""Instants as the API writes them: ISO-8601, UTC, milliseconds, `Z`."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone


def format_instant(value: datetime) -> str:
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant; naive values are taken as UTC. Raises ValueError on anything else."""
    value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:00:00-02:00 is a valid text whose UTC instant is past the last year there is.
        raise ValueError(f"{text!r} is outside the years 1 to 9999 in UTC") from None


def now_ms() -> datetime:
    """The current instant truncated to milliseconds, the precision the API shows and compares at."""
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)

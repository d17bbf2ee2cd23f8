"""The jobs' domain errors as the API answers them: 400 naming the field at fault, 429 with Retry-After when the
tenant has too many exports and imports in progress."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from apps.core.errors import ApiError
from apps.jobs.errors import JobError, TooManyJobsInProgress


class TryAgainLater(ApiError):
    """A 429; the exception handler sends `wait` as the Retry-After header."""

    def __init__(self, message: str, *, wait: int) -> None:
        super().__init__(message, code=429)
        self.wait = wait


def api_error(exc: JobError) -> ApiError:
    if isinstance(exc, TooManyJobsInProgress):
        return TryAgainLater(exc.message, wait=exc.retry_after)
    return ApiError(exc.message, field=exc.field)


@contextmanager
def job_errors_answered() -> Iterator[None]:
    """Within it, a JobError becomes the API's answer to it."""
    try:
        yield
    except JobError as exc:
        raise api_error(exc) from None

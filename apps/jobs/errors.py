"""What the jobs' services refuse, in words for the person who asked.

These are domain errors: they know nothing of HTTP. The Jobs API turns them into its answers
(apps/jobs/api/errors.py) and the console into messages on its pages.
"""

from __future__ import annotations

from apps.core.refusals import Refusal


class JobError(Refusal):
    """A job that cannot be started or changed as asked; `field` names the part of the request at fault."""


class TooManyJobsInProgress(JobError):
    """The tenant has as many exports and imports in progress as it may: try again in `retry_after` seconds."""

    retry_after = 5


class JobNotRetryable(JobError):
    """The job cannot be run again; the message says why."""


class UnknownAgents(JobError):
    """An export names agents the tenant does not have."""


class InvalidBundle(JobError):
    """An import's bundle cannot be imported (bad base64, checksum, JSON or format)."""

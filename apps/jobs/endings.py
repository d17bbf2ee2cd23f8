"""How the job machinery ends a job that its runner did not finish, for job types another app runs.

The workers' time limits, the cap on attempts, the scheduler's sweep, a cancel and a delete can end any job. For
exports and imports the jobs app knows what that means; for a type another app runs (agent runs: apps.agentic),
that app registers an Ending from its AppConfig.ready(): the words of the failure, and what else ends with the job
(an agent run's request log), written in the same transaction as the job's change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from apps.jobs.models import Job


@dataclass(frozen=True)
class Stop:
    """What stopped a job, in words that follow its noun and name the setting behind the limit: "was stopped after
    360 s, its hard time limit (JOB_TIME_LIMIT_SECONDS)"."""

    what: str


class Ending(Protocol):
    def message(self, job: Job, stop: Stop) -> str:
        """The job's failure message when the machinery stopped it (the job is still in progress, its row locked)."""
        ...

    def fail(self, job: Job, message: str, *, cancelled: bool) -> bool:
        """Fail the job with `message` (a cancel's, when `cancelled`) and end what ends with it, in the transaction
        still open; False when it had already finished."""
        ...

    def deleted(self, jobs: list[Job]) -> None:
        """The `jobs`, still in progress, are about to be deleted in the transaction still open."""
        ...


_ENDINGS: dict[str, Ending] = {}


def register_ending(job_type: str, ending: Ending) -> None:
    _ENDINGS[job_type] = ending


def ending_of(job_type: str) -> Ending | None:
    return _ENDINGS.get(str(job_type))


def types_with_endings() -> list[str]:
    return list(_ENDINGS)

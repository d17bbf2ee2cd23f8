from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeAlias

from django.db import models

from apps.agents.models import AgentType
from apps.core.ids import ID_MAX_LENGTH, new_object_id
from apps.core.models import Versioned
from apps.tenants.models import Tenant


class Job(Versioned):
    """A piece of background work of one tenant: an export, an import or an agent run.

    `job_id` is the public id (the API's `id`): new ones are 24-hex object ids, loaded ones keep whatever shape
    they had. The surrogate primary key never leaves the database.
    """

    class Type(models.TextChoices):
        IMPORT = "IMPORT"
        EXPORT = "EXPORT"
        AGENT_CHAT = "AGENT_CHAT"

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"
        SUCCESS = "success"
        FAILURE = "failure"
        # An agent run that was not started: a commerce event its trigger's filter does not match. Final.
        SKIPPED = "skipped"

    AgentType: TypeAlias = AgentType  # the agents app's list: a job runs one of its agents

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="jobs")
    job_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_object_id)
    type = models.CharField(max_length=16, choices=Type.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    agent_type = models.CharField(max_length=16, choices=AgentType.choices, null=True, blank=True)
    agent_id = models.CharField(max_length=ID_MAX_LENGTH, null=True, blank=True)
    session_id = models.CharField(max_length=ID_MAX_LENGTH, null=True, blank=True)
    message = models.TextField(null=True, blank=True)
    commerce_event = models.TextField(null=True, blank=True)
    # An agent run's request: the id of its request log (apps.agentic), which the API shows as `requestId`.
    request_id = models.CharField(max_length=ID_MAX_LENGTH, null=True, blank=True)
    export_result = models.JSONField(null=True, blank=True)
    import_result = models.JSONField(null=True, blank=True)
    # Internal bookkeeping of the worker side, never part of the API representation.
    payload = models.JSONField(null=True, blank=True)  # what the worker needs: agent ids, or the bundle
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)  # how many times a worker has started it
    dispatched_at = models.DateTimeField(null=True, blank=True)  # when the broker took its task; null: not yet
    started_at = models.DateTimeField(null=True, blank=True)  # when a worker last started it
    # An agent run: when it first called a tool. A tool may change the world (send a mail, refund an order), so a
    # run whose worker died after this is never started again unasked: it fails, and a person may rerun it.
    tool_called_at = models.DateTimeField(null=True, blank=True)
    # An agent run's token usage: {"inputTokens", "outputTokens", "requests", "toolCalls", "model"}. Not part of the
    # published Job; the console shows it.
    usage = models.JSONField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Until when a request of the web server waits for this job to finish (export/import answering 200): counted
    # to cap the requests waiting at once (services.job_wait_begin). Null: nobody waits.
    awaited_until = models.DateTimeField(null=True, blank=True)
    # The failed job this one retries (set by the console's retry); kept as null when that job is deleted.
    # Not editable: the system sets it, and an admin form would offer every job of every tenant to pick from.
    # Indexed only where set (below), so the index stays as small as the number of retries.
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, editable=False, db_index=False, on_delete=models.SET_NULL, related_name="retries"
    )

    FINAL = frozenset({Status.SUCCESS, Status.FAILURE, Status.SKIPPED})
    # Exports and imports: a tenant may have only so many in progress at once.
    TRANSFERS = frozenset({Type.EXPORT, Type.IMPORT})
    # What can be run again once it failed: exports, imports and agent runs (a rerun asks the agent again).
    RETRYABLE = frozenset({Type.EXPORT, Type.IMPORT, Type.AGENT_CHAT})

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "job_id"], name="jobs_job_unique_id_per_tenant"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="jobs_job_version_positive"),
        ]
        # Each index starts with the tenant and ends with (created_at, job_id), the default order, so a
        # filtered first page is an index range scan that stops after pageSize rows at any table size.
        indexes = [
            models.Index(fields=["tenant", "created_at", "job_id"], name="jobs_tenant_created"),
            models.Index(fields=["tenant", "status", "created_at", "job_id"], name="jobs_tenant_status"),
            models.Index(fields=["tenant", "type", "status", "created_at", "job_id"], name="jobs_tenant_type"),
            models.Index(fields=["tenant", "agent_id", "created_at", "job_id"], name="jobs_tenant_agent"),
            # The scheduler's sweeps look only at unfinished jobs; partial indexes keep them tiny at any size.
            models.Index(fields=["dispatched_at"], name="jobs_in_progress", condition=models.Q(status="in_progress")),
            models.Index(
                fields=["created_at"],
                name="jobs_undispatched",
                condition=models.Q(status="in_progress", dispatched_at__isnull=True, payload__isnull=False),
            ),
            # Counts the requests waiting for their job: few rows at any table size.
            models.Index(
                fields=["awaited_until"],
                name="jobs_awaited",
                condition=models.Q(status="in_progress", awaited_until__isnull=False),
            ),
            # The workers page's jobs finished in the last hour, per type: an index range scan of the last hour's
            # rows instead of a scan of the whole table (EXPLAIN on PostgreSQL: 96 ms at 300 000 jobs, 0.3 ms).
            models.Index(fields=["finished_at"], name="jobs_finished", condition=models.Q(finished_at__isnull=False)),
            # Finds a job's retries, and the rows to unlink when jobs are deleted.
            models.Index(fields=["retry_of"], name="jobs_retry_of", condition=models.Q(retry_of__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.job_id} ({self.status})"

    @property
    def noun(self) -> str:
        """What the job is, in a sentence: "export", "import", "agent run"."""
        return "agent run" if self.type == self.Type.AGENT_CHAT else str(self.type).lower()

    @property
    def completed_at(self) -> datetime:
        # Loaded and seeded jobs carry no bookkeeping: their last change is when they finished.
        return self.finished_at or self.modified_at

    def retry_problem(self) -> str | None:
        """Why this job cannot be run again as it stands; None when it can (a failed export, import or agent run
        that still holds what it was asked to do). Whether a retry is already running is the service's to check."""
        if self.type not in self.RETRYABLE:
            return f"Only exports, imports and agent runs can be retried, not {self.type} jobs."
        if self.status != self.Status.FAILURE:
            return f"Only a failed job can be retried; this one is {self.status}."
        if self.payload is None:
            return "This job no longer holds what it was asked to do, so it cannot be run again."
        return None

    def rerun_columns(self) -> dict[str, Any]:
        """What a rerun of this job takes over besides its payload: an agent run asks the same agent in the same
        session again, as a new request."""
        if self.type != self.Type.AGENT_CHAT:
            return {}
        columns = ("agent_id", "agent_type", "session_id", "commerce_event")
        return {**{name: getattr(self, name) for name in columns}, "request_id": str(uuid.uuid4())}

    @property
    def retryable(self) -> bool:
        return self.retry_problem() is None


class ExportBundle(models.Model):
    """The bundle an export made, stored once and apart from its job row.

    It can be tens of megabytes: job lists never load it with the rows, and answers that carry it read it in chunks
    of `data` as they are sent (apps.jobs.streaming), so no request holds a whole bundle in memory. On PostgreSQL
    the column is stored uncompressed (migration 0007), so that reading a chunk costs only that chunk."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, primary_key=True, related_name="export_bundle")
    data = models.TextField()  # base64, exactly as the API shows it in exportResult.data
    checksum = models.CharField(max_length=64)
    size = models.PositiveIntegerField()  # len(data): how many chunks to read

    def __str__(self) -> str:
        return f"export bundle of job {self.job_id} ({self.size} characters)"


class JobCount(models.Model):
    """How many jobs of a tenant have a type and a status: what `X-Total-Count` answers from, in constant time.

    Never written by the application. Database triggers (migration 0009) keep it in the same transaction as every
    insert, delete and change of type or status of a job, however it is made: the ORM, bulk_create, COPY, a
    cascade, raw SQL. A count is the sum of its key's rows: on PostgreSQL each transaction adds to one of several
    slots, so that concurrent writers of one tenant do not all wait on one row. `manage.py jobs_recount` rebuilds
    the rows from the jobs.

    SQLite drops a table's triggers when a migration remakes the table (as it does for most field changes): such a
    migration of `Job` must create them again (tests/jobs/test_kept_counts.py fails until it does)."""

    # No foreign key constraint: the counts of a deleted tenant's jobs go to zero as the jobs are deleted, and a
    # constraint would refuse the decrements that arrive after the tenant's own rows were cascaded away.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    type = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    slot = models.SmallIntegerField()
    n = models.BigIntegerField()  # may be negative in one slot; the sum over the slots is the count

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "type", "status", "slot"], name="jobs_jobcount_key"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.status} of tenant {self.tenant_id}: {self.n} (slot {self.slot})"

"""Writes of agent runs: starting one (a job and its request log), and the lines of its logs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Field, Value, When

from apps.accounts.models import Scope
from apps.agentic.errors import AgentNotRunnable, ScopeMissing, SessionNotOwned
from apps.agentic.logs import received, run_failed
from apps.agentic.models import AgentRequest, AgentSession, LogMessage, SessionMemory, Severity
from apps.agents.models import Agent, Kind
from apps.agents.selectors import resource_get
from apps.core.timefmt import now_ms
from apps.jobs.models import Job
from apps.jobs.services import job_create, job_dispatch, job_fail, job_finish
from apps.tenants.models import Tenant


def new_session_id() -> str:
    return str(uuid.uuid4())


# Which scope lets a caller of each type in an agent's `requiredScopes` through. `anonymous` needs none.
CALLER_SCOPES: dict[str, str | None] = {
    "anonymous": None,
    "customer": "ai.agentexecution_manage_own",
    "employee": "ai.agentexecution_manage",
    "integration": "ai.agentexecution_manage",
}


def chat_start(
    *,
    tenant: Tenant,
    agent_id: str,
    message: str,
    session_id: str,
    scopes: frozenset[str],
    caller: str = "",
    attachments: list[dict[str, Any]] | None = None,
) -> Job:
    """An AGENT_CHAT job for a chat request (chat and chat-async), once the agent may be run this way: it exists,
    is enabled and has an `endpoint` trigger (else AgentNotRunnable), and the caller's `scopes` pass its
    `requiredScopes` (else ScopeMissing). A new session is the `caller`'s (an API client's id, or an external
    token's subject); a caller without ai.agentexecution_manage continues only its own (else SessionNotOwned)."""
    agent = chat_agent(tenant=tenant, agent_id=agent_id)
    required = [str(caller) for caller in agent.body.get("requiredScopes") or []]
    if not caller_allowed(required=required, scopes=scopes):
        wanted = sorted({scope for caller in required if (scope := CALLER_SCOPES.get(caller))})
        raise ScopeMissing(
            f"Agent {agent_id} may be run only by callers of type {', '.join(required)}; the access token has "
            f"none of the scopes that stand for them ({' or '.join(wanted)})."
        )
    payload = {"attachments": attachments} if attachments else None
    owner = Owner(caller, only_own=Scope.AGENT_EXECUTION_MANAGE.value not in scopes)
    return run_create(tenant=tenant, agent=agent, message=message, session_id=session_id, payload=payload, owner=owner)


def chat_agent(*, tenant: Tenant, agent_id: str) -> Agent:
    """The agent a chat request names, if chat may run it; AgentNotRunnable saying why not."""
    found = resource_get(tenant=tenant.name, kind=Kind.AGENT, public_id=agent_id)
    if not isinstance(found, Agent):
        raise AgentNotRunnable(f"No agent with id {agent_id} in this tenant.", field="agentId")
    problem = chat_problem(found)
    if problem is not None:
        raise AgentNotRunnable(problem, field="agentId")
    return found


def chat_problem(agent: Agent) -> str | None:
    """Why a message cannot start the agent (chat, chat-async, the console's Try it); None when it can."""
    agent_id = agent.public_id
    if not agent.enabled:
        return f"Agent {agent_id} is disabled; enable it to chat with it."
    triggers = [t.get("type") for t in agent.body.get("triggers") or [] if isinstance(t, dict)]
    if "endpoint" not in triggers:
        return (
            f"Agent {agent_id} has no endpoint trigger, so it cannot be chatted with (its triggers: "
            f"{', '.join(str(t) for t in triggers) or 'none'})."
        )
    return None


def caller_allowed(*, required: list[str], scopes: frozenset[str]) -> bool:
    """Whether a caller with `scopes` is one of the caller types an agent's `requiredScopes` lists. An empty list
    restricts nothing; `anonymous` lets everyone through."""
    if not required:
        return True
    for caller in required:
        scope = CALLER_SCOPES.get(caller, "")
        if scope is None or scope in scopes:
            return True
    return False


def run_create(
    *,
    tenant: Tenant,
    agent: Agent,
    message: str,
    session_id: str,
    commerce_event: str | None = None,
    skipped: str | None = None,
    payload: dict[str, Any] | None = None,
    owner: Owner | None = None,
) -> Job:
    """An AGENT_CHAT job asking `agent` `message` in `session_id`, with its request log opened, handed to a worker on
    commit. `skipped` (a reason): the job is written already `skipped` and never run (a commerce event its filter
    does not match). `payload` adds what the runtime needs beyond the message (the event's body)."""
    request_id = str(uuid.uuid4())
    columns: dict[str, Any] = {
        "agent_id": agent.public_id,
        "agent_type": agent.agent_type,
        "session_id": session_id,
        "request_id": request_id,
        "commerce_event": commerce_event,
    }
    with transaction.atomic():
        if skipped is not None:
            now = now_ms()
            job = Job.objects.create(
                tenant=tenant,
                type=Job.Type.AGENT_CHAT,
                status=Job.Status.SKIPPED,
                message=skipped,
                finished_at=now,
                **columns,
            )
        else:
            body = {"message": message, **(payload or {})}
            job = job_create(tenant=tenant, type=Job.Type.AGENT_CHAT, payload=body, **columns)
        request_open(tenant=tenant, job=job, agent_id=agent.public_id, owner=owner)
        log_write(
            tenant=tenant,
            session_id=session_id,
            request_id=request_id,
            agent_id=agent.public_id,
            message=received(message),
        )
        if skipped is not None:
            log_write(
                tenant=tenant,
                session_id=session_id,
                request_id=request_id,
                agent_id=agent.public_id,
                message=f"Agent skipped: {skipped}",
                severity=Severity.WARNING,
            )
            request_close(job=job, severity=Severity.WARNING)
    return job


@dataclass(frozen=True)
class Owner:
    """Who starts a chat run: `caller` owns the sessions it starts; `only_own` callers continue no one else's."""

    caller: str
    only_own: bool


def request_open(*, tenant: Tenant, job: Job, agent_id: str, owner: Owner | None = None) -> AgentRequest:
    """The request log of the job's run, and its session's, made if missing (a rerun opens a new request). A chat
    `owner` owns the session it makes; one that may continue only its own sessions is refused another's
    (SessionNotOwned), checked here, where the session is made, so that two first requests cannot both pass."""
    session_id, request_id = str(job.session_id), str(job.request_id)
    session, created = AgentSession.objects.get_or_create(
        tenant=tenant,
        session_id=session_id,
        defaults={"trigger_agent_id": agent_id, "agents": [agent_id], "owner": owner.caller if owner else ""},
    )
    if not created and owner is not None and owner.only_own and (not owner.caller or session.owner != owner.caller):
        raise SessionNotOwned(
            f"Session {session_id} was not started by this caller, and a token with only "
            f"{Scope.AGENT_EXECUTION_MANAGE_OWN.value} continues only its own sessions. Leave out the session-id "
            "header to start a new one.",
            field="session-id",
        )
    request, _ = AgentRequest.objects.get_or_create(
        tenant=tenant,
        request_id=request_id,
        defaults={"session_id": session_id, "trigger_agent_id": agent_id, "job_id": job.job_id},
    )
    if not created:
        AgentSession.objects.filter(pk=session.pk).update(finished_at=None, modified_at=now_ms())
    return request


_WORSE = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


def request_close(
    *, job: Job, severity: Severity = Severity.INFO, agents: list[str] | None = None, only_open: bool = False
) -> None:
    """The job's run is over: its request log gets its end, severity and collaborators, and so does its session.
    The request and session are the job's (request_open made them with its ids and agent). `only_open`: a request
    log already closed (by whoever ended the job) is left as it is, and so is its session."""
    now = now_ms()
    trigger = str(job.agent_id)
    changes: dict[str, Any] = {"finished_at": now, "severity": severity, "modified_at": now}
    changes["version"] = F("version") + 1
    if agents:
        changes["collaboration_agents"] = [a for a in agents if a != trigger]
    requests = AgentRequest.objects.filter(tenant_id=job.tenant_id, request_id=str(job.request_id))
    if only_open:
        requests = requests.filter(finished_at__isnull=True)
    if not requests.update(**changes) and only_open:
        return
    sessions = AgentSession.objects.filter(tenant_id=job.tenant_id, session_id=str(job.session_id))
    milder = [str(other) for other, rank in _WORSE.items() if rank < _WORSE[Severity(severity)]]
    worst: Any = F("severity")
    if milder:
        worst = Case(When(severity__in=milder, then=Value(str(severity))), default=F("severity"))
    touched: dict[str, Any] = {"finished_at": now, "severity": worst, "version": F("version") + 1, "modified_at": now}
    involved = list(dict.fromkeys([trigger, *(agents or [])]))
    # This runs at the end of every run. Mostly the session names every agent of the run already (its first request
    # named the trigger): then one statement closes it; only otherwise is its list read and extended.
    contains = connection.features.supports_json_field_contains
    if contains and sessions.filter(agents__contains=involved).update(**touched):
        return
    found = sessions.values_list("pk", "agents").first()
    if found is None:
        return
    pk, seen = found
    AgentSession.objects.filter(pk=pk).update(**touched, agents=list(dict.fromkeys([*seen, *involved])))


def log_write(
    *,
    tenant: Tenant,
    session_id: str,
    request_id: str,
    agent_id: str,
    message: str,
    severity: Severity = Severity.INFO,
    business: bool = False,
) -> LogMessage:
    """One line of a run's transcript. Callers use the phrases of apps.agentic.logs; nothing secret goes in."""
    return LogMessage.objects.create(
        tenant=tenant,
        session_id=session_id,
        request_id=request_id,
        agent_id=agent_id,
        message=message,
        severity=severity,
        is_business_log=business,
    )


# --- Writes of a run in progress (the worker's) -----------------------------------------------------------------

# How long a run over its tenant's cap waits in the queue before it asks again.
TURN_RETRY_SECONDS = 2.0


def run_turn_take(*, job: Job) -> bool:
    """Whether the claimed job may run now: its tenant has fewer than AGENT_MAX_RUNNING_PER_TENANT other runs going.
    When not, the claim is undone (the attempt does not count) and the job goes back to the queue for a while:
    it is never failed for waiting."""
    # No lock is needed for two runs not to both take the last place: each run's claim (job_claim, started_at set)
    # is committed before it counts, so of two runs counting at once the later claim sees the earlier one.
    running = (
        Job.objects.filter(
            tenant_id=job.tenant_id, type=Job.Type.AGENT_CHAT, status=Job.Status.IN_PROGRESS, started_at__isnull=False
        )
        .exclude(pk=job.pk)
        .count()
    )
    if running < settings.AGENT_MAX_RUNNING_PER_TENANT:
        return True
    with transaction.atomic():
        # dispatched_at is renewed so that the scheduler's sweep counts the wait from now, not from the first send.
        Job.objects.filter(pk=job.pk, status=Job.Status.IN_PROGRESS).update(
            attempts=F("attempts") - 1, started_at=None, dispatched_at=now_ms()
        )
        transaction.on_commit(
            partial(job_dispatch, job_pk=job.pk, job_type=str(job.type), countdown=TURN_RETRY_SECONDS)
        )
    return False


def run_begin(*, job: Job) -> None:
    """Open the request log of a run that did not start through run_create (a rerun made by apps.jobs), with the
    line of its request, so that every run has its transcript."""
    if AgentRequest.objects.filter(tenant_id=job.tenant_id, request_id=str(job.request_id)).exists():
        return
    with transaction.atomic():
        request_open(tenant=job.tenant, job=job, agent_id=str(job.agent_id))
        log_write(
            tenant=job.tenant,
            session_id=str(job.session_id),
            request_id=str(job.request_id),
            agent_id=str(job.agent_id),
            message=received(str((job.payload or {}).get("message") or "")),
        )


def run_wanted(*, job: Job) -> bool:
    """Whether the run should go on: its job is still in progress (not cancelled, failed meanwhile or deleted)."""
    return Job.objects.filter(pk=job.pk, status=Job.Status.IN_PROGRESS).exists()


@dataclass(frozen=True)
class RunLine:
    """A line of a run's transcript, kept by the runner until its next flush; `at` is when it happened."""

    agent_id: str
    message: str
    severity: Severity
    at: datetime


def run_log(*, job: Job, lines: Sequence[RunLine]) -> bool:
    """Lines of the run's transcript, written in one statement and only while its job is still in progress: a
    cancelled run adds nothing after its cancel. False when nothing was written.

    On PostgreSQL the statement commits without waiting for the write-ahead log to reach the disk (an asynchronous
    commit, asked for by the statement itself): on a shared server that wait is a good part of a write's time, and
    a run writes its transcript several times. It risks only the last fraction of a second of lines if the
    database server itself crashes; the lines stay atomic and in order, and the job's end (committed normally)
    makes every line before it durable. The mark before a tool and the job's end, which decide whether a run may
    be repeated, are always committed normally."""
    if not lines:
        return run_wanted(job=job)
    return _log_insert(job, lines, asynchronous=True)


def _log_insert(job: Job, lines: Sequence[RunLine], *, asynchronous: bool = False, mark: bool = False) -> bool:
    """The guarded INSERT of `lines` (see _guarded_log_insert); with `mark`, the same statement marks the job."""
    fields = _log_fields()
    values: list[Any] = []
    for line in lines:
        row = LogMessage(
            tenant_id=job.tenant_id,
            session_id=str(job.session_id),
            request_id=str(job.request_id),
            agent_id=line.agent_id,
            message=line.message,
            severity=line.severity,
            timestamp=line.at,
        )
        values += [field.get_db_prep_save(field.pre_save(row, add=True), connection) for field in fields]
    guard = [job.pk, Job.Status.IN_PROGRESS]
    params = [now_ms(), *guard, *values] if mark else [*values, *guard]
    with connection.cursor() as cursor:
        cursor.execute(_guarded_log_insert(len(lines), asynchronous=asynchronous, mark=mark), params)
        return bool(cursor.rowcount == len(lines))


def _log_fields() -> list[Field[Any, Any]]:
    return [field for field in LogMessage._meta.concrete_fields if not field.primary_key]


@cache
def _guarded_log_insert(rows: int, *, asynchronous: bool = False, mark: bool = False) -> str:
    """INSERT of `rows` log lines that happens only if the job is in progress, in one statement (one round trip for
    the lines of a step, where a transaction around a locked check took four for each). The job's row is locked FOR
    UPDATE by the statement, so it is ordered against a cancel as a locked check was: a cancel committed first
    leaves the lines unwritten.

    On PostgreSQL, `asynchronous` has the statement's own transaction commit asynchronously (run_log), and `mark`
    turns the check into an UPDATE setting the job's tool_called_at if unset, which locks the row as FOR UPDATE
    did (run_tool_mark): lines and mark in one round trip and one commit."""
    quote = connection.ops.quote_name
    fields = _log_fields()
    columns = ", ".join(quote(str(field.column)) for field in fields)
    # Typed placeholders on PostgreSQL, whose INSERT ... SELECT does not take the columns' types for bare ones.
    postgresql = connection.vendor == "postgresql"
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" if postgresql else "%s" for field in fields) + ")"
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    lines, jobs = quote(LogMessage._meta.db_table), quote(Job._meta.db_table)
    pk, status = quote(str(Job._meta.get_field("id").column)), quote(str(Job._meta.get_field("status").column))
    # Only names from the models' metadata are put in the text; every value is a parameter. The VALUES rows are
    # inserted in their order, so the lines' ids keep the order they happened in.
    values = ", ".join([row] * rows)
    insert = f"INSERT INTO {lines} ({columns}) SELECT * FROM (VALUES {values}) AS line"  # noqa: S608
    if mark:
        assert postgresql, "a statement that also marks the job is PostgreSQL's (a data-modifying WITH)"
        marked = quote(str(Job._meta.get_field("tool_called_at").column))
        update = (
            f"UPDATE {jobs} SET {marked} = COALESCE({marked}, %s::timestamp with time zone) "  # noqa: S608
            f"WHERE {pk} = %s AND {status} = %s RETURNING 1"
        )
        return f"WITH marked AS ({update}) {insert} WHERE EXISTS (SELECT 1 FROM marked)"  # noqa: S608
    guard = f"SELECT 1 FROM {jobs} WHERE {pk} = %s AND {status} = %s{lock}"  # noqa: S608
    if asynchronous and postgresql:
        # Local to the statement's own transaction, and read when it commits.
        return f"{insert} WHERE EXISTS ({guard}) AND set_config('synchronous_commit', 'off', true) IS NOT NULL"
    return f"{insert} WHERE EXISTS ({guard})"


def run_tool_mark(*, job: Job, lines: Sequence[RunLine], mark: bool) -> bool:
    """Write the lines so far and note that the run is about to call a tool: from now on a worker that dies leaves a
    job that is not run again on its own (apps.agentic.runner). False (and no mark) when the job is no longer in
    progress."""
    if not mark:
        return run_log(job=job, lines=lines)
    if lines and connection.vendor == "postgresql":
        return _log_insert(job, lines, mark=True)  # lines and mark in one statement, committed normally
    # One transaction (one commit, not two): the lines and the mark are written together or not at all.
    with transaction.atomic():
        if not (_log_insert(job, lines) if lines else run_wanted(job=job)):
            return False
        Job.objects.filter(pk=job.pk, tool_called_at__isnull=True).update(tool_called_at=now_ms())
    return True


def memory_read(*, job: Job) -> list[Any]:
    """The conversation the job's agent remembers of its session (empty when none)."""
    memory = SessionMemory.objects.filter(
        tenant_id=job.tenant_id, session_id=str(job.session_id), agent_id=str(job.agent_id)
    ).first()
    return list(memory.messages) if memory is not None else []


def run_succeed(
    *,
    job: Job,
    output: str,
    usage: dict[str, Any],
    agents: list[str],
    history: list[Any] | None,
    lines: Sequence[RunLine] = (),
) -> bool:
    """The run answered: its last `lines` join the transcript, the job succeeds with the answer and its usage, the
    agent remembers the conversation (when it keeps one), and the request log is closed. False (and nothing
    written) when the job ended meanwhile."""
    with transaction.atomic():
        # The lines' statement locks the job's row, so the finish below cannot miss: in progress now, it stays so.
        if lines and not _log_insert(job, lines):
            return False
        if not job_finish(job_pk=job.pk, status=Job.Status.SUCCESS, message=output, usage=usage):
            return False
        if history is not None:
            SessionMemory.objects.update_or_create(
                tenant_id=job.tenant_id,
                session_id=str(job.session_id),
                agent_id=str(job.agent_id),
                defaults={"messages": history, "modified_at": now_ms()},
            )
        request_close(job=job, severity=Severity.INFO, agents=agents)
    return True


def run_fail(
    *,
    job: Job,
    reason: str,
    usage: dict[str, Any] | None = None,
    severity: Severity = Severity.ERROR,
    say_why: bool = True,
) -> bool:
    """The run failed: the job fails with the reason (and the usage so far), the transcript says why (unless not
    `say_why`), and the request log is closed as an error (a cancel: a warning). False (and nothing written) when
    the job ended meanwhile. The runner calls it, and so does the job machinery when it ends a run
    (apps.agentic.ending)."""
    with transaction.atomic():
        if not job_fail(job_pk=job.pk, message=reason, usage=usage):
            return False
        if say_why:
            log_write(
                tenant=job.tenant,
                session_id=str(job.session_id),
                request_id=str(job.request_id),
                agent_id=str(job.agent_id),
                message=run_failed(reason),
                severity=severity,
            )
        request_close(job=job, severity=severity)
    return True


def runs_deleted(*, jobs: Sequence[Job]) -> None:
    """The jobs of runs still in progress are being deleted: no runner will close their request logs, so they are
    closed now, as warnings, as a runner closes the log of a run deleted under it."""
    for job in jobs:
        request_close(job=job, severity=Severity.WARNING, only_open=True)

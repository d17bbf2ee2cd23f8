"""Request logs, session logs and their lines as the published AgentRequestResponse, AgentSessionResponse and
AgentLogMessageResponse show them; a finished chat as a ChatResponse."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apps.agentic.models import AgentRequest, AgentSession, LogMessage
from apps.core.models import Versioned
from apps.core.timefmt import format_instant, now_ms
from apps.jobs.models import Job


def message_representation(line: LogMessage) -> dict[str, Any]:
    return {
        "timestamp": format_instant(line.timestamp),
        "severity": line.severity,
        "message": line.message,
        "agentId": line.agent_id,
        "requestId": line.request_id,
        "isBusinessLog": line.is_business_log,
    }


def request_representation(request: AgentRequest, lines: list[LogMessage] | None) -> dict[str, Any]:
    """`lines` None: the messages were not asked for (a `fields` selection without them), so none were read."""
    out: dict[str, Any] = {
        "id": request.log_id,
        "sessionId": request.session_id,
        "requestId": request.request_id,
        "triggerAgentId": request.trigger_agent_id,
        "collaborationAgents": list(request.collaboration_agents or []),
        "severity": request.severity,
        "duration": _seconds(request.started_at, request.finished_at),
        "metadata": _metadata(request),
    }
    if lines is not None:
        out["messages"] = [message_representation(line) for line in lines]
    return out


def session_representation(session: AgentSession, lines: list[LogMessage] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sessionId": session.session_id,
        "triggerAgentId": session.trigger_agent_id,
        "severity": session.severity,
        "agents": list(session.agents or []),
        "duration": _seconds(session.started_at, session.finished_at),
        "metadata": _metadata(session),
    }
    if lines is not None:
        out["messages"] = [message_representation(line) for line in lines]
    return out


def chat_representation(job: Job) -> list[dict[str, Any]]:
    """The answer of a finished chat: one entry, the agent's reply (the published answer is an array)."""
    answer: dict[str, Any] = {"agentId": job.agent_id, "sessionId": job.session_id, "message": job.message or ""}
    if job.agent_type:  # the schema has no null: an agent without a type has none to show
        answer["agentType"] = job.agent_type
    return [answer]


def _seconds(started: datetime, finished: datetime | None) -> int:
    """Whole seconds from start to finish; while still going, up to now."""
    return max(0, int(((finished or now_ms()) - started).total_seconds()))


def _metadata(row: Versioned) -> dict[str, Any]:
    return {
        "version": row.version,
        "createdAt": format_instant(row.created_at),
        "modifiedAt": format_instant(row.modified_at),
    }

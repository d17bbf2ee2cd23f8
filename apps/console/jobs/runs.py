"""How the console shows an agent run: its transcript (the request log's lines), the tools it called, and the
tokens it used.

The lines are stored in the phrases the upstream dashboard parses (apps.agentic.logs writes them); the console
reads the same phrases to label each line and to pair each tool call with its output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from apps.console.access import TenantAccess
from apps.console.jobs import selectors
from apps.core.timefmt import format_instant
from apps.jobs.models import Job
from apps.tenants.models import Tenant

# A transcript line is shown up to this long: a model's prompts can run to pages, and the request log API has them.
LINE_CHARS = 4000
# A tool's output in the tool calls table, shorter: the transcript holds it whole (up to LINE_CHARS).
OUTPUT_CHARS = 500

_TOOL_ENDED = re.compile(r"Tool ended \(agent: (?P<agent>[^)]*)\) with output: (?P<text>.*)", re.DOTALL)
_TOOL_CALLED = re.compile(r"Tool (?P<name>\S+) called by agent (?P<agent>\S+).*", re.DOTALL)
# The phrases, most specific first: "Tool ended ..." would otherwise pass for a tool called "ended ...".
_KINDS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("request", "Asked", re.compile(r"Agent receive request: (?P<text>.*)", re.DOTALL)),
    ("answer", "Answered", re.compile(r"Agent final response: (?P<text>.*)", re.DOTALL)),
    ("model", "Model called", re.compile(r"LLM started \(run #(?P<run>\d+)\) for agent: .*", re.DOTALL)),
    ("model-answer", "Model answered", re.compile(r"LLM ended \(run #(?P<run>\d+)\) .*", re.DOTALL)),
    ("tool-output", "Tool returned", _TOOL_ENDED),
    ("tool", "Tool called", _TOOL_CALLED),
)


@dataclass(frozen=True)
class Line:
    """One transcript line as the pages and their live updates show it."""

    id: int
    at: datetime
    severity: str
    agent_id: str
    kind: str  # request, answer, model, model-answer, tool, tool-output, note
    label: str
    text: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": format_instant(self.at),
            "severity": self.severity,
            "agentId": self.agent_id,
            "kind": self.kind,
            "label": self.label,
            "text": self.text,
        }


def shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line_of(row: dict[str, Any]) -> Line:
    """A stored log message (a `values()` row of LogMessage) as a labelled line."""
    message = str(row["message"])
    kind, label = "note", "Note"
    for name, shown, pattern in _KINDS:
        if pattern.fullmatch(message):
            kind, label = name, shown
            break
    return Line(
        id=int(row["id"]),
        at=row["timestamp"],
        severity=str(row["severity"]),
        agent_id=str(row["agent_id"]),
        kind=kind,
        label=label,
        text=shortened(message, LINE_CHARS),
    )


@dataclass
class ToolCall:
    name: str
    agent_id: str
    called_at: datetime
    output: str | None = None
    ended_at: datetime | None = None


def tool_calls(rows: list[dict[str, Any]]) -> list[ToolCall]:
    """The tools the run called, in order, each with the output that came back. An output belongs to the
    earliest call of the same agent still waiting for one (an agent's calls return in the order it made them)."""
    calls: list[ToolCall] = []
    waiting: dict[str, list[ToolCall]] = {}
    for row in rows:
        message = str(row["message"])
        ended = _TOOL_ENDED.fullmatch(message)
        if ended:
            queue = waiting.get(ended["agent"]) or []
            if queue:
                call = queue.pop(0)
                call.output, call.ended_at = shortened(ended["text"], OUTPUT_CHARS), row["timestamp"]
            continue
        called = _TOOL_CALLED.fullmatch(message)
        if called:
            call = ToolCall(name=called["name"], agent_id=called["agent"], called_at=row["timestamp"])
            calls.append(call)
            waiting.setdefault(call.agent_id, []).append(call)
    return calls


USAGE_ROWS = (
    ("model", "Model"),
    ("inputTokens", "Input tokens"),
    ("outputTokens", "Output tokens"),
    ("requests", "Model requests"),
    ("toolCalls", "Tool calls"),
)


def usage_rows(usage: Any) -> list[tuple[str, str, str]]:
    """(key, label, value) of the run's usage as the worker stored it. A count not stored (yet) shows as "—", so
    the table has the same rows for every run, and a page following the run can fill them in."""
    stored = usage if isinstance(usage, dict) else {}
    rows = []
    for key, label in USAGE_ROWS:
        value = stored.get(key)
        shown = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value or "—")
        rows.append((key, label, shown))
    return rows


def usage_json(usage: Any) -> dict[str, str] | None:
    """The usage as the live updates send it: the same texts the page shows."""
    if not isinstance(usage, dict):
        return None
    return {key: shown for key, _, shown in usage_rows(usage)}


def run_panel(*, access: TenantAccess, job: Job) -> dict[str, Any]:
    """What a page shows of an agent run (its job page, and the Try it panel of its agent): the transcript so
    far, the tool calls, the usage, and what the viewer may do with the run."""
    rows = selectors.run_log(tenant=access.tenant, request_id=job.request_id) if job.request_id else []
    session_url = None
    if job.session_id:
        session_url = f"{reverse('console:jobs', args=[access.tenant.name])}?{urlencode({'session': job.session_id})}"
    return {
        "lines": [line_of(row) for row in rows],
        "last_line": rows[-1]["id"] if rows else 0,
        "capped": len(rows) >= selectors.LOG_LINES,
        "cap": selectors.LOG_LINES,
        "tool_calls": tool_calls(rows),
        "usage": usage_rows(job.usage),
        "session_url": session_url,
        "cancellable": access.can_act and job.status == Job.Status.IN_PROGRESS,
    }


def log_update(*, tenant: Tenant, job_id: str, after: int) -> dict[str, Any]:
    """The lines of the job's run written after the line `after`, and its usage: what a page following the run
    adds to what it shows. Another tenant's job, or one that is no agent run, has none."""
    job = selectors.job_get(tenant=tenant, job_id=job_id)
    if job is None or not job.request_id:
        return {"jobId": job_id, "lines": [], "usage": None}
    rows = selectors.run_log(tenant=tenant, request_id=job.request_id, after=after)
    return {"jobId": job_id, "lines": [line_of(row).as_json() for row in rows], "usage": usage_json(job.usage)}

"""The state one agent run shares between its steps, and what it reports through (the runner's Journal)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2
from pydantic_ai import CancellationToken
from pydantic_ai.usage import RunUsage, UsageLimits

POLL_SECONDS = 0.5  # how often a run asks whether its job is still wanted
MCP_SETUP_SECONDS = 10.0  # the least time connecting to an MCP server and listing its tools get
# A worker keeps its MCP sessions open between runs (runtime.tools.mcp_toolset): one idle this long is closed, and
# one this old is replaced, so that tools a server adds or changes are seen within that time.
MCP_SESSION_IDLE_SECONDS = 30.0
MCP_SESSION_MAX_AGE_SECONDS = 60.0
MCP_PING_SECONDS = 2.0  # how long a kept session has to answer a ping before a new one is opened


class RunStopped(Exception):
    """The job was cancelled or deleted while the run went on: the run stopped and reports nothing more."""


class Journal(Protocol):
    """Where a run reports, from inside its event loop. Lines are kept until the next flush, which writes them all
    in one round trip: the run flushes before every model request and with the mark before every tool call, so
    the transcript stays live without a database round trip for every line. A run that fails flushes what it has;
    one that answers leaves its last lines kept, for the journal's owner to write with the job's end (one round
    trip and one commit fewer per run)."""

    def line(self, agent_id: str, message: str, severity: str = "INFO") -> None:
        """Keep a line for the next flush."""
        ...

    async def flush(self) -> bool:
        """Write the kept lines; False when the job is no longer in progress (and nothing was written)."""
        ...

    async def tool_starting(self) -> bool:
        """Flush, and mark the job before a tool runs; False when the job is no longer in progress."""
        ...

    async def wanted(self) -> bool: ...


@dataclass(frozen=True)
class Timeouts:
    run: float
    model: float
    tool: float


@dataclass
class RunResult:
    output: str
    usage: dict[str, Any]
    agents: list[str]  # the trigger agent, then each collaborator it handed over to
    history: list[Any] | None  # the trigger agent's conversation, when it keeps one (enabledMemory)


@dataclass
class RunState:
    """What the steps of one run share: the journal, the secrets to scrub, the usage, the stop switch."""

    journal: Journal
    timeouts: Timeouts
    secrets: list[str]
    usage: RunUsage = field(default_factory=RunUsage)
    cancel: CancellationToken = field(default_factory=CancellationToken)
    stopped: bool = False
    requests: int = 0
    agents: list[str] = field(default_factory=list)
    clients: list[httpx2.AsyncClient] = field(default_factory=list)
    limits: UsageLimits | None = None

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    async def line(self, agent_id: str, message: str, severity: str = "INFO") -> None:
        """Add a line to the transcript (written at the next flush); a stopped run stops here."""
        if self.stopped:
            raise RunStopped
        self.journal.line(agent_id, self.scrub(message), severity)

    async def flush(self) -> None:
        """Write the lines so far; a job that is no longer in progress stops the run here."""
        if self.stopped or not await self.journal.flush():
            self.stopped = True
            raise RunStopped

    async def tool_starting(self) -> None:
        if self.stopped or not await self.journal.tool_starting():
            self.stopped = True
            raise RunStopped


def timed_out(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError | httpx2.TimeoutException) or "Timeout" in type(seen).__name__:
            return True
        seen = seen.__cause__ or seen.__context__
    return False

"""The state one agent run shares between its steps, and what it reports through (the runner's Journal)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2
from pydantic_ai import CancellationToken
from pydantic_ai.usage import RunUsage, UsageLimits

POLL_SECONDS = 0.5  # how often a run asks whether its job is still wanted
MCP_SETUP_SECONDS = 10.0  # the least time connecting to an MCP server and listing its tools get


class RunStopped(Exception):
    """The job was cancelled or deleted while the run went on: the run stopped and reports nothing more."""


class Journal(Protocol):
    """Where a run reports, from inside its event loop."""

    async def line(self, agent_id: str, message: str, severity: str = "INFO") -> bool:
        """Write a line; False when the job is no longer in progress (and nothing was written)."""
        ...

    async def tool_starting(self) -> None: ...

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
        """Write a line of the transcript; a job that is no longer in progress stops the run here."""
        if self.stopped or not await self.journal.line(agent_id, self.scrub(message), severity):
            self.stopped = True
            raise RunStopped


def timed_out(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError | httpx2.TimeoutException) or "Timeout" in type(seen).__name__:
            return True
        seen = seen.__cause__ or seen.__context__
    return False

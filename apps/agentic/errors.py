"""What the agent-run services refuse, as domain errors: the API turns them into HTTP answers, the console into
messages on its pages."""

from __future__ import annotations

from apps.core.refusals import Refusal


class RunError(Refusal):
    """An agent run that cannot be started as asked; `field` names the part of the request at fault."""


class AgentNotRunnable(RunError):
    """The agent is unknown, disabled, or not started by this kind of trigger."""


class ScopeMissing(RunError):
    """The caller lacks a scope the agent's `requiredScopes` ask for."""


class SessionNotOwned(RunError):
    """The caller may continue only its own sessions, and this one was started by someone else."""

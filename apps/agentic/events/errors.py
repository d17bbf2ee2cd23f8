"""What the commerce event services refuse, as domain errors (the command and the console say them)."""

from __future__ import annotations

from apps.core.refusals import Refusal


class EventSecretUnreadable(Refusal):
    """The stored secret opens with none of the configured encryption keys."""

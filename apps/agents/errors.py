"""What the agents services refuse, as domain errors: the API turns them into HTTP answers
(apps/agents/api/views.py), the console into messages on its pages (apps/console/catalogue)."""

from __future__ import annotations

from dataclasses import dataclass

from apps.agents.models import Kind
from apps.agents.names import KIND_NAMES
from apps.core.refusals import Refusal


class ResourceError(Refusal):
    """A write to a resource that cannot be done as asked; `field` names the part of the request at fault."""


class ResourceNotFound(ResourceError):
    pass


class VersionConflict(ResourceError):
    pass


@dataclass(frozen=True)
class Dependant:
    kind: Kind
    public_id: str
    name: str

    def __str__(self) -> str:
        return f"{KIND_NAMES[self.kind]} {self.public_id} ({self.name})"


class ResourceInUse(ResourceError):
    def __init__(self, message: str, dependants: list[Dependant]) -> None:
        super().__init__(message, field="force")
        self.dependants = dependants

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiPrincipal:
    """Who is calling the API: one tenant and the scopes granted for it, whatever issued the token."""

    tenant: str
    scopes: frozenset[str]
    client_id: str
    subject: str = ""  # an external token's `sub`, for the audit trail; empty for tokens issued here

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

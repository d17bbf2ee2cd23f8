from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.tenants.selectors import tenant_id_for


@dataclass(frozen=True)
class ApiPrincipal:
    """Who is calling the API: one tenant and the scopes granted for it, whatever issued the token."""

    tenant: str
    scopes: frozenset[str]
    client_id: str
    subject: str = ""  # an external token's `sub`, for the audit trail; empty for tokens issued here
    # The tenant's primary key when the token's lookup read it with the token (tokens issued here); None for an
    # external token, whose tenant is only a name until looked up (tenant_id_of).
    tenant_id: int | None = None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def tenant_id_of(principal: ApiPrincipal | Any) -> int | None:  # Any: DRF types request.auth loosely
    """The primary key of the principal's tenant (the path's: the permission check matched them); None when there
    is no such tenant. Tokens issued here carry it, so only external tokens cost a query."""
    if principal.tenant_id is not None:
        return principal.tenant_id
    return tenant_id_for(name=principal.tenant)

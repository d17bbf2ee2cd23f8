from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.accounts.principal import ApiPrincipal


class HasTenantScope(BasePermission):
    """The token's tenant is the path's tenant, and it carries the scope the view names for this method.

    Views declare `required_scopes = {"GET": "ai.agent_read", ...}`. An unknown tenant answers exactly as a
    foreign one (403), so tenant names cannot be probed.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, ApiPrincipal):
            raise NotAuthenticated()
        if principal.tenant != view.kwargs.get("tenant"):
            raise PermissionDenied("The access token does not belong to this tenant.")
        scope = view.required_scopes.get(request.method or "")
        if scope is None or not principal.has_scope(scope):
            raise PermissionDenied(f"The access token lacks the scope {scope} needed for this operation.")
        return True

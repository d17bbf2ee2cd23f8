from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.accounts.principal import ApiPrincipal

# HEAD and OPTIONS reveal what GET does (headers such as X-Total-Count, the allowed methods), so they need its scope.
_SAME_SCOPE_AS = {"HEAD": "GET", "OPTIONS": "GET"}


class HasTenantScope(BasePermission):
    """The token's tenant is the path's tenant, and it carries the scope the view names for this method.

    Views declare `required_scopes = {"GET": "ai.agent_read", ...}`; a tuple of scopes means any one of them will
    do (chat takes `ai.agentexecution_manage` or its `_own` variant). An unknown tenant answers exactly as a
    foreign one (403), so tenant names cannot be probed.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, ApiPrincipal):
            raise NotAuthenticated()
        if principal.tenant != view.kwargs.get("tenant"):
            raise PermissionDenied("The access token does not belong to this tenant.")
        method = _SAME_SCOPE_AS.get(request.method or "", request.method or "")
        if not hasattr(view, method.lower()):
            return True  # DRF's dispatch answers 405 with an Allow header; a 403 would hide the real mistake.
        scope: str | tuple[str, ...] | None = view.required_scopes.get(method)
        accepted = (scope,) if isinstance(scope, str) else scope or ()
        if not any(principal.has_scope(one) for one in accepted):
            raise PermissionDenied(
                f"The access token lacks the scope {' or '.join(accepted)} needed for this operation."
            )
        return True

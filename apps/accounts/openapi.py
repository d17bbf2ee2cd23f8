"""The OpenAPI description of the API's bearer tokens: OAuth2 client credentials, with the scope each operation
requires. drf-spectacular finds the extension by its target class once this module is imported (AppConfig.ready)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from apps.accounts.models import Scope


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "apps.accounts.authentication.BearerTokenAuthentication"
    name = "OAuth2"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/oauth/token",
                    "scopes": {str(value): str(label) for value, label in Scope.choices},
                }
            },
        }

    def get_security_requirement(self, auto_schema: AutoSchema) -> dict[str, list[str]] | list[dict[str, list[str]]]:
        scopes = getattr(auto_schema.view, "required_scopes", {})
        scope = scopes.get(auto_schema.method.upper())
        if isinstance(scope, tuple):  # any one of them will do: alternatives, each a requirement of its own
            return [{self.name: [one]} for one in scope]
        return {self.name: [scope] if scope else []}

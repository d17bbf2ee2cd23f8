"""Hooks that shape the project's generated OpenAPI document."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import OpenApiParameter

from apps.accounts.models import Scope

# Path parameters whose published name differs from the URL kwarg the views receive.
PUBLISHED_PATH_PARAMETERS = {
    "job_id": "jobId",
    "agent_id": "agentId",
    "tool_id": "toolId",
    "mcp_server_id": "mcpServerId",
    "token_id": "tokenId",
}


def only_public_api(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple[str, str, str, Any]]:
    """The document describes the tenant API, not the schema views themselves."""
    return [e for e in endpoints if e[0].startswith("/ai-service/")]


# Also taken by the operations that get one resource.
FIELDS_PARAMETER = OpenApiParameter("fields", str, description="Comma-separated fields to return; `id` always is.")


def list_parameters(noun: str) -> list[OpenApiParameter]:
    """The paging, sort, fields and total-count parameters every list and search operation takes."""
    return [
        OpenApiParameter("pageSize", str, description=f"{noun} per page: 1-1000, default 60."),
        OpenApiParameter("pageNumber", str, description="1-based page number, default 1."),
        OpenApiParameter("sort", str, description="`field[:asc|:desc]`, comma-separated; default newest first."),
        FIELDS_PARAMETER,
        OpenApiParameter(
            "X-Total-Count", bool, OpenApiParameter.HEADER, description="`true` to get the total in X-Total-Count."
        ),
    ]


def add_components(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    from apps.agents.api.schema import COMPONENTS as AGENT_COMPONENTS
    from apps.jobs.api.schema import COMPONENTS, TRANSFER_COMPONENTS

    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for components in (COMPONENTS, TRANSFER_COMPONENTS, AGENT_COMPONENTS):
        clashes = [name for name, schema in components.items() if schemas.get(name, schema) != schema]
        if clashes:
            raise ImproperlyConfigured(f"OpenAPI components defined twice, differently: {', '.join(clashes)}")
        schemas.update(components)
    _publish_path_parameter_names(result)
    _drop_default_security(result)
    return result


def _publish_path_parameter_names(result: dict[str, Any]) -> None:
    """`{job_id}` (the URL kwarg) is `{jobId}` in the published paths."""
    paths: dict[str, Any] = {}
    for template, item in result.get("paths", {}).items():
        for kwarg, published in PUBLISHED_PATH_PARAMETERS.items():
            template = template.replace("{" + kwarg + "}", "{" + published + "}")
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "path" and parameter.get("name") in PUBLISHED_PATH_PARAMETERS:
                    parameter["name"] = PUBLISHED_PATH_PARAMETERS[parameter["name"]]
                    # The URL converter's regex only keeps a trailing slash out; ids are opaque strings.
                    parameter.get("schema", {}).pop("pattern", None)
        paths[template] = item
    result["paths"] = paths


def _drop_default_security(result: dict[str, Any]) -> None:
    """drf-spectacular appends SECURITY to each operation's own requirement; alternatives are OR-ed, so
    DELETE would read as "manage or read". The default applies only where an operation has no requirement."""
    defaults = list(spectacular_settings.SECURITY or [])
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "security" not in operation:
                continue
            own = list(operation["security"])
            for requirement in defaults:
                if requirement in own:
                    own.remove(requirement)
            unique: list[Any] = []
            for requirement in own or defaults:
                if requirement not in unique:
                    unique.append(requirement)
            operation["security"] = unique


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

    def get_security_requirement(self, auto_schema: AutoSchema) -> dict[str, list[str]]:
        scopes = getattr(auto_schema.view, "required_scopes", {})
        scope = scopes.get(auto_schema.method.upper())
        return {self.name: [scope] if scope else []}

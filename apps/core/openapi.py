"""Hooks that shape the project's generated OpenAPI document.

Knows no domain app: each app registers what it adds to the document (its components, the published names of its
path parameters) from its AppConfig.ready(), and the bearer-token scheme is described by the accounts app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import OpenApiParameter

# Path parameters whose published name differs from the URL kwarg the views receive (`job_id` -> `jobId`).
PUBLISHED_PATH_PARAMETERS: dict[str, str] = {}
# The components each app adds to the document, in the order the apps registered them.
_REGISTERED_COMPONENTS: list[Mapping[str, Any]] = []


def register(*components: Mapping[str, Any], path_parameters: Mapping[str, str] | None = None) -> None:
    """Adds an app's components and published path-parameter names to the document; called from ready()."""
    for added in components:
        if all(existing is not added for existing in _REGISTERED_COMPONENTS):  # ready() may run again in tests
            _REGISTERED_COMPONENTS.append(added)
    PUBLISHED_PATH_PARAMETERS.update(path_parameters or {})


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
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for components in _REGISTERED_COMPONENTS:
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

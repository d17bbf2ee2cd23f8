"""What every API view of the tenant API does the same way: read the list parameters, the search body and a
flag, find what the path names (or answer 403/404), and describe the usual error answers in the OpenAPI
document. Everything refused here is an ApiError, rendered by apps/core/errors.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from drf_spectacular.utils import OpenApiResponse
from rest_framework.request import Request

from apps.core.errors import ApiError
from apps.core.listing import FieldTree, ListParams, Selection, parse_fields, parse_list_params

T = TypeVar("T")

ERROR = {"$ref": "#/components/schemas/ErrorMessage"}
FAULT = {"$ref": "#/components/schemas/ErrorMessageFault"}
# The answers any operation can give, whatever it is about.
ERROR_RESPONSES: dict[int | str, Any] = {
    400: OpenApiResponse(ERROR, description="The request is not valid."),
    401: OpenApiResponse(FAULT, description="No valid access token."),
    403: OpenApiResponse(ERROR, description="Another tenant's path, or a missing scope."),
}


def list_params(request: Request, *, sortable: Mapping[str, str], tree: FieldTree, whole: frozenset[str]) -> ListParams:
    """The paging, sort, fields and total-count parameters of a list or search request."""
    return parse_list_params(request.query_params, request.headers, sortable=sortable, tree=tree, whole=whole)


def fields_param(request: Request, *, tree: FieldTree, whole: frozenset[str]) -> Selection | None:
    """The `fields` parameter of a request for one resource."""
    return parse_fields(request.query_params.get("fields"), tree, whole)


def search_q(request: Request, *, example: str) -> Any:
    """The `q` of a search's body, which must be a JSON object; `example` is a q to show in the message."""
    body = request.data
    if not isinstance(body, dict):
        raise ApiError(f'The body must be a JSON object such as {{"q": "{example}"}}.', field="body")
    return body.get("q")


def query_flag(request: Request, name: str) -> bool:
    """A `true`/`false` query parameter, false when absent."""
    raw = request.query_params.get(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise ApiError(f"{name} must be true or false.", field=name)
    return value == "true"


def path_tenant(tenant: T | None) -> T:
    """The tenant the path names, as looked up by the caller. The permission check has already matched it with
    the token's tenant, so a missing one was deleted meanwhile: the token no longer belongs to it."""
    if tenant is None:
        raise ApiError("The access token does not belong to this tenant.", code=403)
    return tenant


def not_found(title: str, public_id: str) -> ApiError:
    """The 404 for a path naming no resource of the tenant: "Agent with id x not found."."""
    return ApiError(f"{title} with id {public_id} not found.", code=404, resource_id=public_id)

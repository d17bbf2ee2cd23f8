"""The create and edit forms of the catalogue pages: a resource is validated by the API's serializer and written
by the service the API's PUT uses, so the console cannot accept what the API would refuse; the errors land
where the form shows the field at fault."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.debug import sensitive_variables
from rest_framework.exceptions import ValidationError

from apps.agents import selectors as agent_selectors
from apps.agents.api.serializers import validate_upsert
from apps.agents.errors import ResourceError, VersionConflict
from apps.agents.models import Kind
from apps.agents.representation import AnyResource
from apps.console.access import TenantAccess
from apps.console.catalogue import selectors, services
from apps.console.catalogue.forms import ResourceForm
from apps.console.catalogue.pages import PAGES, KindPage, page_context, pretty_json, resource_row
from apps.core.errors import validation_details  # the API's own field names
from apps.core.ids import id_problem


def resource_form(
    kind: Kind, access: TenantAccess, *, creating: bool, resource: AnyResource | None = None, **kwargs: Any
) -> ResourceForm:
    """The form of a new resource (starting from the kind's starter) or of `resource`, with the tenant's tokens
    to pick from."""
    if resource is None:
        document = dict(PAGES[kind].starter)
    elif kind == Kind.TOKEN:
        document = {"name": resource.name}  # never the value
    else:
        document = dict(resource.body)
    tokens = selectors.token_choices(tenant=access.tenant)
    return ResourceForm(kind=kind, creating=creating, document=document, tokens=tokens, **kwargs)


def form_initial(resource: AnyResource) -> dict[str, Any]:
    if resource.kind == Kind.TOKEN:
        return {"version": resource.version}
    return {"body": pretty_json(resource.body), "version": resource.version}


def render_form(
    request: HttpRequest,
    access: TenantAccess,
    page: KindPage,
    form: ResourceForm,
    *,
    resource: AnyResource | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        **page_context(access, page),
        "form": form,
        "resource": None if resource is None else resource_row(page, access.tenant.name, resource),
        "conflict": status == 409 and resource is not None,
    }
    return render(request, "console/catalogue/resource_form.html", context, status=status)


@sensitive_variables("document", "upsert")  # a token's value, on its way to being encrypted
def save_resource(request: HttpRequest, access: TenantAccess, kind: Kind, public_id: str, form: ResourceForm) -> int:
    """Validate the form's resource as the API would and write it; 200 once saved, else the status of the page
    that shows the form again, with the errors added to it."""
    noun = PAGES[kind].noun
    problem = id_problem(public_id)
    if problem:
        # A row stored before ids were checked: the API's PUT refuses its id, so the console does too.
        form.add_error(None, f"This {noun} cannot be saved under its id: {problem} Create a new one instead.")
        return 400
    if form.creating and agent_selectors.resource_get(tenant=access.tenant.name, kind=kind, public_id=public_id):
        form.add_error("public_id", f"There already is {PAGES[kind].a_noun} with id {public_id}; open it to edit it.")
        return 400
    document = form.data_for_api()
    try:
        upsert = validate_upsert(kind, document)
    except ValidationError as exc:
        form.show(document)
        for detail in validation_details(exc.detail):
            _add_error(form, detail["field"], detail["message"])
        return 400
    if not form.creating:
        # The version the form was opened at, whatever the JSON's metadata says.
        upsert = replace(upsert, version=form.cleaned_data["version"])
    try:
        services.console_resource_save(
            user=request.user, tenant=access.tenant, kind=kind, public_id=public_id, upsert=upsert, create=form.creating
        )
    except VersionConflict:
        form.show(document)
        current = agent_selectors.resource_get(tenant=access.tenant.name, kind=kind, public_id=public_id)
        now = f"it is now at version {current.version}" if current is not None else "it was deleted"
        form.add_error(
            None,
            f"Not saved: someone else changed this {noun} after you opened it ({now}; you edited version "
            f"{upsert.version}). Open the current version and apply your change to it.",
        )
        return 409
    except (services.AlreadyExists, services.ResourceGone) as exc:
        form.show(document)
        _add_error(form, exc.field, f"Not saved: {exc.message}")
        return 409
    except ResourceError as exc:
        form.show(document)
        _add_error(form, exc.field, exc.message)
        return 400
    return 200


def _add_error(form: ResourceForm, field: str | None, message: str) -> None:
    """Put an error of the API's (`field` a dot path into the resource) next to the field that shows it: a
    generated field, else the JSON (naming the path), else the list above the form."""
    shown = form.error_field(field)
    if shown is not None:
        form.add_error(shown, message)
    elif form.has_advanced and field and field not in ("body", "metadata.version", "id", "public_id"):
        form.add_error("body", f"{field}: {message}")
    else:
        form.add_error(None, message)

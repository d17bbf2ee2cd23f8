"""The console's pages about agents, tools, MCP servers and tokens: list, detail, create, edit, delete, and the
export of selected agents.

Every view finds its tenant through `tenant_access`: another tenant's anything is a 404, and the pages that
write (`act=True`) answer a viewer 403. Resources are validated by the serializer and written by the service the
API's PUT and DELETE use, so the console cannot accept what the API would refuse. A token's value is written
and never shown: not on any page, not back into its form.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from rest_framework.exceptions import ValidationError

from apps.agents import selectors as agent_selectors
from apps.agents.api.serializers import validate_upsert
from apps.agents.models import Kind
from apps.agents.representation import AnyResource, metadata, representation
from apps.agents.services import ResourceError, ResourceInUse, ResourceNotFound, VersionConflict
from apps.console.access import TenantAccess, tenant_access
from apps.console.catalogue import selectors, services
from apps.console.catalogue.forms import DeleteForm, ResourceForm, TokenForm
from apps.console.catalogue.selectors import RelatedList
from apps.core.errors import _details_from_validation as api_error_details  # the API's own field names
from apps.core.ids import id_problem, is_stored_id, new_object_id
from apps.core.listing import ListParams, SortKey
from apps.jobs.errors import JobError

PAGE_SIZE = 50


@dataclass(frozen=True)
class KindPage:
    kind: Kind
    segment: str  # in paths and URL names: "mcp-servers", "console:mcp-servers-detail"
    noun: str
    plural: str
    starter: dict[str, Any]  # what the create form starts from

    @property
    def title(self) -> str:
        return self.plural[0].upper() + self.plural[1:]

    @property
    def a_noun(self) -> str:
        return f"{'an' if self.noun[0] in 'aeiouM' else 'a'} {self.noun}"

    def url(self, action: str, tenant: str, public_id: str | None = None) -> str:
        args = [tenant] if public_id is None else [tenant, public_id]
        return reverse(f"console:{self.segment}{'-' + action if action else ''}", args=args)

    def link(self, action: str, tenant: str, public_id: str) -> str | None:
        """The page of one resource, or None for an id no path can hold (an empty one, stored before ids were
        checked): a list must show such a row, not fail on it."""
        try:
            return self.url(action, tenant, public_id)
        except NoReverseMatch:
            return None


PAGES = {
    page.kind: page
    for page in (
        KindPage(
            Kind.AGENT,
            "agents",
            "agent",
            "agents",
            {
                "name": {"en": "New agent"},
                "description": {"en": ""},
                "type": "support",
                "enabled": False,
                "userPrompt": "",
                "triggers": [{"type": "endpoint"}],
                "llmConfig": {"provider": "emporix_openai", "model": "gpt-4.1-mini"},
                "mcpServers": [],
                "nativeTools": [],
                "agentCollaborations": [],
            },
        ),
        KindPage(
            Kind.TOOL,
            "tools",
            "tool",
            "tools",
            {"name": "New tool", "type": "slack", "enabled": False, "config": {"teamId": ""}},
        ),
        KindPage(
            Kind.MCP_SERVER,
            "mcp-servers",
            "MCP server",
            "MCP servers",
            {
                "name": "New MCP server",
                "type": "custom",
                "enabled": False,
                "transport": "streamable_http",
                "config": {"url": "https://"},
            },
        ),
        KindPage(Kind.TOKEN, "tokens", "token", "tokens", {}),
    )
}


View = Callable[..., HttpResponse]


def allow(*methods: str) -> Callable[[View], View]:
    """require_http_methods, but after the tenant check: another tenant's path is a 404 whatever the method, so
    that an outsider learns nothing from it, not even which methods it takes."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, tenant: str, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                tenant_access(request.user, tenant)
                return HttpResponseNotAllowed(methods)
            return view(request, tenant, *args, **kwargs)

        return checked

    return decorate


def job_page(tenant: str, job_id: str) -> str:
    """The job's page (apps/console/jobs), where an export or import is followed."""
    return reverse("console:job-detail", args=[tenant, job_id])


# --- reading ----------------------------------------------------------------------------------------------------


@login_required
@allow("GET")
def resource_list(request: HttpRequest, tenant: str, kind: Kind) -> HttpResponse:
    page = PAGES[kind]
    access = tenant_access(request.user, tenant)
    q = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    number = _page_number(request.GET.get("page"))
    filters = Q(name__icontains=q) if q else Q()
    params = ListParams(
        page_size=PAGE_SIZE, page_number=number, sort=(SortKey("name", False),), fields=None, want_total=False
    )
    rows = agent_selectors.resource_list(tenant=access.tenant.name, kind=kind, filters=filters, params=params)
    total = agent_selectors.resource_count(tenant=access.tenant.name, kind=kind, filters=filters)
    base = page.url("", tenant)
    context = {
        **_context(access, page),
        "q": q,
        "rows": [_row(page, tenant, resource) for resource in rows],
        "total": total,
        "number": number,
        "previous": _list_link(base, q, number - 1) if number > 1 else None,
        "next": _list_link(base, q, number + 1) if number * PAGE_SIZE < total else None,
        "export_max": settings.EXPORT_MAX_AGENTS,
    }
    return render(request, "console/catalogue/resource_list.html", context)


@login_required
@allow("GET")
def resource_detail(request: HttpRequest, tenant: str, kind: Kind, public_id: str) -> HttpResponse:
    page = PAGES[kind]
    access = tenant_access(request.user, tenant)
    resource = _resource_or_404(access, kind, public_id)
    context = {
        **_context(access, page),
        "resource": _row(page, tenant, resource),
        "representation": _pretty(_shown(resource)),
        "uses": _related(tenant, selectors.resource_uses(tenant=access.tenant, kind=kind, public_id=public_id)),
        "used_by": _related(tenant, selectors.resource_used_by(tenant=access.tenant, kind=kind, public_id=public_id)),
    }
    return render(request, "console/catalogue/resource_detail.html", context)


# --- writing ----------------------------------------------------------------------------------------------------


@sensitive_variables()  # a token's value passes through local variables on its way to being encrypted
@login_required
@sensitive_post_parameters("value")
@allow("GET", "POST")
def resource_create(request: HttpRequest, tenant: str, kind: Kind) -> HttpResponse:
    page = PAGES[kind]
    access = tenant_access(request.user, tenant, act=True)
    if request.method == "GET":
        initial = {} if kind == Kind.TOKEN else {"body": _pretty(page.starter)}
        form = _form(kind, creating=True, initial=initial)
        return _render_form(request, access, page, form)
    form = _form(kind, creating=True, data=request.POST)
    public_id = ""
    status = 400
    if form.is_valid():
        public_id = form.cleaned_data["public_id"] or new_object_id()
        status = _save(request, access, kind, public_id, form)
    if status == 200:
        messages.success(request, f"Created the {page.noun} {public_id}.")
        return redirect(page.url("detail", tenant, public_id))
    return _render_form(request, access, page, form, status=status)


@sensitive_variables()  # a token's value passes through local variables on its way to being encrypted
@login_required
@sensitive_post_parameters("value")
@allow("GET", "POST")
def resource_edit(request: HttpRequest, tenant: str, kind: Kind, public_id: str) -> HttpResponse:
    page = PAGES[kind]
    access = tenant_access(request.user, tenant, act=True)
    resource = _resource_or_404(access, kind, public_id)
    if request.method == "GET":
        form = _form(kind, creating=False, initial=_initial(resource))
        return _render_form(request, access, page, form, resource=resource)
    form = _form(kind, creating=False, data=request.POST)
    status = _save(request, access, kind, public_id, form) if form.is_valid() else 400
    if status == 200:
        messages.success(request, f"Saved the {page.noun} {public_id}.")
        return redirect(page.url("detail", tenant, public_id))
    return _render_form(request, access, page, form, resource=resource, status=status)


@login_required
@allow("GET", "POST")
def resource_delete(request: HttpRequest, tenant: str, kind: Kind, public_id: str) -> HttpResponse:
    page = PAGES[kind]
    access = tenant_access(request.user, tenant, act=True)
    resource = _resource_or_404(access, kind, public_id)
    form = DeleteForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound and form.is_valid():
        try:
            services.console_resource_delete(
                user=request.user,
                tenant=access.tenant,
                kind=kind,
                public_id=public_id,
                force=form.cleaned_data["force"],
            )
        except ResourceNotFound:
            raise Http404(f"No such {page.noun}.") from None
        except ResourceInUse as exc:
            form.add_error(
                None,
                f"Not deleted: {len(exc.dependants)} other resource(s) use this {page.noun}. Tick the box to detach "
                "it from them, or change them first.",
            )
            status = 409
        else:
            messages.success(request, f"Deleted the {page.noun} {public_id} ({resource.name}).")
            return redirect(page.url("", tenant))
    used_by = selectors.resource_used_by(tenant=access.tenant, kind=kind, public_id=public_id)
    context = {
        **_context(access, page),
        "resource": _row(page, tenant, resource),
        "used_by": _related(tenant, used_by),
        "form": form,
    }
    return render(request, "console/catalogue/resource_delete.html", context, status=status)


@login_required
@allow("POST")
def agents_export(request: HttpRequest, tenant: str) -> HttpResponse:
    """Start an EXPORT job for the agents ticked on the list, and follow it on its job page."""
    access = tenant_access(request.user, tenant, act=True)
    back = PAGES[Kind.AGENT].url("", tenant)
    agent_ids = list(dict.fromkeys(i for i in request.POST.getlist("agent_ids") if i))
    limit = settings.EXPORT_MAX_AGENTS
    if not agent_ids:
        messages.error(request, "Select the agents to export first.")
        return redirect(back)
    if len(agent_ids) > limit:
        messages.error(request, f"An export takes at most {limit} agents; {len(agent_ids)} were selected.")
        return redirect(back)
    if not all(is_stored_id(i) for i in agent_ids):
        messages.error(request, "Some of the selected ids name no agent of this tenant.")
        return redirect(back)
    try:
        job = services.console_agents_export(user=request.user, tenant=access.tenant, agent_ids=agent_ids)
    except JobError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    count = len(agent_ids)
    messages.success(request, f"Started job {job.job_id} to export {count} agent{'s' if count != 1 else ''}.")
    return redirect(job_page(tenant, job.job_id))


# --- helpers ----------------------------------------------------------------------------------------------------


def _context(access: TenantAccess, page: KindPage) -> dict[str, Any]:
    tenant = access.tenant.name
    return {
        "access": access,
        "section": page.segment,
        "kind": page,
        "list_url": page.url("", tenant),
        "new_url": page.url("new", tenant),
        "export_url": PAGES[Kind.AGENT].url("export", tenant) if page.kind == Kind.AGENT else None,
    }


def _resource_or_404(access: TenantAccess, kind: Kind, public_id: str) -> AnyResource:
    found = None
    if is_stored_id(public_id):  # no other id can be stored
        found = agent_selectors.resource_get(tenant=access.tenant.name, kind=kind, public_id=public_id)
    if found is None:
        raise Http404(f"No such {PAGES[kind].noun}.")
    return found


def _shown(resource: AnyResource) -> dict[str, Any]:
    if resource.kind == Kind.TOKEN:
        # Named fields only, as the API shows a token: its value (encrypted or not) is never on a page.
        return {"id": resource.public_id, "name": resource.name, "metadata": metadata(resource)}
    return representation(resource)


def _row(page: KindPage, tenant: str, resource: AnyResource) -> dict[str, Any]:
    return {
        "id": resource.public_id,
        "name": resource.name,
        "type": getattr(resource, "agent_type", None) or getattr(resource, "type", None),
        "enabled": getattr(resource, "enabled", None),
        "version": resource.version,
        "created": resource.created_at,
        "modified": resource.modified_at,
        "url": page.link("detail", tenant, resource.public_id),
        "edit_url": page.link("edit", tenant, resource.public_id),
        "delete_url": page.link("delete", tenant, resource.public_id),
    }


def _related(tenant: str, related: RelatedList) -> dict[str, Any]:
    items = [
        {
            "kind": PAGES[item.kind].noun,
            "id": item.public_id,
            "name": item.name,
            "url": None if item.name is None else PAGES[item.kind].link("detail", tenant, item.public_id),
        }
        for item in related.items
    ]
    return {"items": items, "more": related.more}


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and raw.isascii() and 1 <= int(raw) <= 100_000 else 1


def _list_link(base: str, q: str, number: int) -> str:
    query = {**({"q": q} if q else {}), **({"page": str(number)} if number > 1 else {})}
    return f"{base}?{urlencode(query)}" if query else base


# --- the create and edit forms ------------------------------------------------------------------------------------


def _form(kind: Kind, *, creating: bool, **kwargs: Any) -> ResourceForm | TokenForm:
    if kind == Kind.TOKEN:
        return TokenForm(creating=creating, **kwargs)
    return ResourceForm(creating=creating, **kwargs)


def _initial(resource: AnyResource) -> dict[str, Any]:
    if resource.kind == Kind.TOKEN:
        return {"name": resource.name, "version": resource.version}  # never the value
    return {"body": _pretty(resource.body), "version": resource.version}


def _render_form(
    request: HttpRequest,
    access: TenantAccess,
    page: KindPage,
    form: ResourceForm | TokenForm,
    *,
    resource: AnyResource | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        **_context(access, page),
        "form": form,
        "resource": None if resource is None else _row(page, access.tenant.name, resource),
        "conflict": status == 409 and resource is not None,
    }
    return render(request, "console/catalogue/resource_form.html", context, status=status)


def _save(
    request: HttpRequest, access: TenantAccess, kind: Kind, public_id: str, form: ResourceForm | TokenForm
) -> int:
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
    try:
        upsert = validate_upsert(kind, form.data_for_api())
    except ValidationError as exc:
        for detail in api_error_details(exc.detail):
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
        current = agent_selectors.resource_get(tenant=access.tenant.name, kind=kind, public_id=public_id)
        now = f"it is now at version {current.version}" if current is not None else "it was deleted"
        form.add_error(
            None,
            f"Not saved: someone else changed this {noun} after you opened it ({now}; you edited version "
            f"{upsert.version}). Open the current version and apply your change to it.",
        )
        return 409
    except (services.AlreadyExists, services.ResourceGone) as exc:
        _add_error(form, exc.field, f"Not saved: {exc.message}")
        return 409
    except ResourceError as exc:
        _add_error(form, exc.field, exc.message)
        return 400
    return 200


def _add_error(form: ResourceForm | TokenForm, field: str | None, message: str) -> None:
    """Put an error of the API's (`field` a dot path into the resource) where the form shows that field."""
    if field in ("id", "public_id") and "public_id" in form.fields:
        form.add_error("public_id", message)
    elif isinstance(form, TokenForm) and field in ("name", "value"):
        form.add_error(field, message)
    elif isinstance(form, ResourceForm) and field and field not in ("body", "metadata.version", "id"):
        form.add_error("body", f"{field}: {message}")
    else:
        form.add_error(None, message)

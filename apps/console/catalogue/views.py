"""The console's pages about agents, tools, MCP servers and tokens: list, detail, create, edit, delete, and the
export of selected agents.

Every view finds its tenant through `tenant_access`: another tenant's anything is a 404, and the pages that
write (`act=True`) answer a viewer 403. Resources are validated and written as the API does it (editing.py); what
every page shares is in pages.py. A token's value is written and never shown: not on any page, not back into
its form.
"""

from __future__ import annotations

from typing import cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from rest_framework.exceptions import ValidationError

from apps.agentic.errors import RunError
from apps.agents import selectors as agent_selectors
from apps.agents.errors import ResourceError, ResourceInUse, ResourceNotFound, VersionConflict
from apps.agents.models import Agent, Kind
from apps.agents.representation import AnyResource, public_representation
from apps.console.access import TenantAccess, allow, tenant_access
from apps.console.catalogue import selectors, services
from apps.console.catalogue.editing import form_initial, render_form, resource_form, save_resource
from apps.console.catalogue.forms import AgentTryForm, DeleteForm, EnableForm
from apps.console.catalogue.pages import (
    PAGE_SIZE,
    PAGES,
    list_link,
    page_context,
    page_number,
    pretty_json,
    related_links,
    resource_or_404,
    resource_row,
)
from apps.console.catalogue.trying import try_it_context
from apps.core.errors import validation_details
from apps.core.ids import is_stored_id, new_object_id
from apps.core.listing import ListParams, SortKey
from apps.jobs.errors import JobError


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
    number = page_number(request.GET.get("page"))
    filters = Q(name__icontains=q) if q else Q()
    params = ListParams(
        page_size=PAGE_SIZE, page_number=number, sort=(SortKey("name", False),), fields=None, want_total=False
    )
    rows = agent_selectors.resource_list(tenant=access.tenant.name, kind=kind, filters=filters, params=params)
    total = agent_selectors.resource_count(tenant=access.tenant.name, kind=kind, filters=filters)
    base = page.url("", tenant)
    context = {
        **page_context(access, page),
        "q": q,
        "rows": [resource_row(page, tenant, resource) for resource in rows],
        "total": total,
        "number": number,
        "previous": list_link(base, q, number - 1) if number > 1 else None,
        "next": list_link(base, q, number + 1) if number * PAGE_SIZE < total else None,
        "export_max": settings.EXPORT_MAX_AGENTS,
    }
    return render(request, "console/catalogue/resource_list.html", context)


@login_required
@allow("GET")
def resource_detail(request: HttpRequest, tenant: str, kind: Kind, public_id: str) -> HttpResponse:
    access = tenant_access(request.user, tenant)
    resource = resource_or_404(access, kind, public_id)
    return _detail(request, access, kind, resource, run_id=request.GET.get("run"))


def _detail(
    request: HttpRequest,
    access: TenantAccess,
    kind: Kind,
    resource: AnyResource,
    *,
    run_id: str | None = None,
    try_form: AgentTryForm | None = None,
    status: int = 200,
) -> HttpResponse:
    page, tenant, public_id = PAGES[kind], access.tenant.name, resource.public_id
    context = {
        **page_context(access, page),
        "resource": resource_row(page, tenant, resource),
        "representation": pretty_json(public_representation(resource)),
        "uses": related_links(tenant, selectors.resource_uses(tenant=access.tenant, kind=kind, public_id=public_id)),
        "used_by": related_links(
            tenant, selectors.resource_used_by(tenant=access.tenant, kind=kind, public_id=public_id)
        ),
        # Running an agent is acting: a viewer has no panel (and the form's target answers 403).
        "try_it": (
            try_it_context(access, cast(Agent, resource), run_id=run_id, form=try_form)
            if kind == Kind.AGENT and access.can_act
            else None
        ),
    }
    return render(request, "console/catalogue/resource_detail.html", context, status=status)


# --- writing ----------------------------------------------------------------------------------------------------


@sensitive_variables()  # a token's value passes through local variables on its way to being encrypted
@login_required
@sensitive_post_parameters("value")
@allow("GET", "POST")
def resource_create(request: HttpRequest, tenant: str, kind: Kind) -> HttpResponse:
    page = PAGES[kind]
    access = tenant_access(request.user, tenant, act=True)
    if request.method == "GET":
        initial = {} if kind == Kind.TOKEN else {"body": pretty_json(page.starter)}
        form = resource_form(kind, access, creating=True, initial=initial)
        return render_form(request, access, page, form)
    form = resource_form(kind, access, creating=True, data=request.POST)
    public_id = ""
    status = 400
    if form.is_valid() and form.switching:
        form.show(form.data_for_api())
        return render_form(request, access, page, form)
    if form.is_valid():
        public_id = form.cleaned_data["public_id"] or new_object_id()
        status = save_resource(request, access, kind, public_id, form)
    if status == 200:
        messages.success(request, f"Created the {page.noun} {public_id}.")
        return redirect(page.url("detail", tenant, public_id))
    return render_form(request, access, page, form, status=status)


@sensitive_variables()  # a token's value passes through local variables on its way to being encrypted
@login_required
@sensitive_post_parameters("value")
@allow("GET", "POST")
def resource_edit(request: HttpRequest, tenant: str, kind: Kind, public_id: str) -> HttpResponse:
    page = PAGES[kind]
    access = tenant_access(request.user, tenant, act=True)
    resource = resource_or_404(access, kind, public_id)
    if request.method == "GET":
        form = resource_form(kind, access, creating=False, resource=resource, initial=form_initial(resource))
        return render_form(request, access, page, form, resource=resource)
    form = resource_form(kind, access, creating=False, resource=resource, data=request.POST)
    if form.is_valid() and form.switching:
        form.show(form.data_for_api())
        return render_form(request, access, page, form, resource=resource)
    status = save_resource(request, access, kind, public_id, form) if form.is_valid() else 400
    if status == 200:
        messages.success(request, f"Saved the {page.noun} {public_id}.")
        return redirect(page.url("detail", tenant, public_id))
    return render_form(request, access, page, form, resource=resource, status=status)


@login_required
@allow("POST")
def resource_enable(request: HttpRequest, tenant: str, kind: Kind, public_id: str) -> HttpResponse:
    """The one-click Enable / Disable of an agent, tool or MCP server (list and detail pages), then back."""
    page = PAGES[kind]
    access = tenant_access(request.user, tenant, act=True)
    resource = resource_or_404(access, kind, public_id)
    form = EnableForm(request.POST)
    detail = page.url("detail", tenant, public_id)
    if not form.is_valid():
        messages.error(
            request, f"Nothing was changed: the button's form was incomplete. Try again from the {page.noun}."
        )
        return redirect(detail)
    back = _back(request, form.cleaned_data["next"], tenant) or detail
    enabled, noun = form.cleaned_data["enabled"], page.noun
    try:
        changed = services.console_resource_enable(
            user=request.user,
            tenant=access.tenant,
            resource=resource,
            enabled=enabled,
            version=form.cleaned_data["version"],
        )
    except ValidationError as exc:
        problem = validation_details(exc.detail)[0]
        messages.error(
            request,
            f"Not changed: the stored {noun} does not pass the API's checks ({problem['field']}: "
            f"{problem['message']}). Edit it to fix that first.",
        )
        return redirect(back)
    except VersionConflict:
        messages.error(request, f"Not changed: someone else changed this {noun} meanwhile. Look again, then retry.")
        return redirect(back)
    except ResourceError as exc:
        messages.error(request, f"Not changed: {exc.message}")
        return redirect(back)
    state = "enabled" if enabled else "disabled"
    if changed:
        messages.success(request, f"The {noun} {resource.name} ({public_id}) is {state}.")
    else:
        messages.info(request, f"The {noun} {resource.name} ({public_id}) already was {state}.")
    return redirect(back)


def _back(request: HttpRequest, target: str, tenant: str) -> str | None:
    """A page of this tenant's console on this site to return to, or None."""
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    return target if target and safe and target.startswith(f"/console/{tenant}/") else None


@login_required
@allow("GET", "POST")
def resource_delete(request: HttpRequest, tenant: str, kind: Kind, public_id: str) -> HttpResponse:
    page = PAGES[kind]
    access = tenant_access(request.user, tenant, act=True)
    resource = resource_or_404(access, kind, public_id)
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
        **page_context(access, page),
        "resource": resource_row(page, tenant, resource),
        "used_by": related_links(tenant, used_by),
        "form": form,
    }
    return render(request, "console/catalogue/resource_delete.html", context, status=status)


@login_required
@allow("POST")
def agent_try(request: HttpRequest, tenant: str, public_id: str) -> HttpResponse:
    """Start a run of the agent on the message typed in its Try it panel, then show the panel following it."""
    access = tenant_access(request.user, tenant, act=True)
    agent = cast(Agent, resource_or_404(access, Kind.AGENT, public_id))
    form = AgentTryForm(request.POST)
    if not form.is_valid():
        return _detail(request, access, Kind.AGENT, agent, try_form=form, status=400)
    try:
        job = services.console_agent_try(
            user=request.user,
            tenant=access.tenant,
            agent=agent,
            message=form.cleaned_data["message"],
            session_id=form.session(),
        )
    except RunError as exc:
        form.add_error(None, exc.message)
        return _detail(request, access, Kind.AGENT, agent, try_form=form, status=400)
    url = PAGES[Kind.AGENT].url("detail", tenant, public_id)
    return redirect(f"{url}?{urlencode({'run': job.job_id})}#try-it")


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

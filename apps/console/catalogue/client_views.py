"""The tenant's API clients in the console: list, create (the secret is shown once, on the answer to the
creating POST, and exists nowhere else in plain text), revoke with confirmation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_variables

from apps.accounts.models import ApiClient, Scope
from apps.console.access import TenantAccess, allow, tenant_access
from apps.console.catalogue import selectors, services
from apps.console.catalogue.forms import ApiClientForm


@login_required
@allow("GET")
def client_list(request: HttpRequest, tenant: str) -> HttpResponse:
    access = tenant_access(request.user, tenant)
    context = {
        "access": access,
        "section": "clients",
        "clients": selectors.api_client_list(tenant=access.tenant),
        "shown_max": selectors.CLIENTS_SHOWN,
        "scope_labels": dict(Scope.choices),
    }
    return render(request, "console/catalogue/client_list.html", context)


@login_required
# Every variable: the secret is in `issued`, but also in the page's context and in the response, here and in
# the frames of the template engine below, which an error report would otherwise show.
@sensitive_variables()
@allow("GET", "POST")
def client_create(request: HttpRequest, tenant: str) -> HttpResponse:
    access = tenant_access(request.user, tenant, act=True)
    form = ApiClientForm(request.POST if request.method == "POST" else None)
    if not (form.is_bound and form.is_valid()):
        context = {"access": access, "section": "clients", "form": form}
        return render(request, "console/catalogue/client_form.html", context, status=400 if form.is_bound else 200)
    issued = services.console_api_client_create(
        user=request.user,
        tenant=access.tenant,
        name=form.cleaned_data["name"].strip(),
        scopes=list(form.cleaned_data["scopes"]),
    )
    context = {"access": access, "section": "clients", "client": issued.client, "secret": issued.client_secret}
    # Rendered in answer to the POST, never behind a URL that could be loaded again; and kept by no cache.
    response = render(request, "console/catalogue/client_created.html", context, status=201)
    add_never_cache_headers(response)
    return response


@login_required
@allow("GET", "POST")
def client_revoke(request: HttpRequest, tenant: str, client_id: str) -> HttpResponse:
    access = tenant_access(request.user, tenant, act=True)
    client = _client_or_404(access, client_id)
    if request.method == "GET":
        context = {"access": access, "section": "clients", "client": client}
        return render(request, "console/catalogue/client_revoke.html", context)
    if client.revoked_at is not None:
        messages.info(request, f"The API client {client.client_id} was already revoked.")
    else:
        services.console_api_client_revoke(user=request.user, client=client)
        messages.success(request, f"Revoked the API client {client.client_id} ({client.name}).")
    return redirect(reverse("console:clients", args=[tenant]))


def _client_or_404(access: TenantAccess, client_id: str) -> ApiClient:
    client = selectors.api_client_get(tenant=access.tenant, client_id=client_id)
    if client is None:
        raise Http404("No such API client.")
    return client

"""The console's entry: the tenants the signed-in user may see."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.console.access import tenants_for


@login_required
def console_home(request: HttpRequest) -> HttpResponse:
    tenants = tenants_for(request.user)
    if len(tenants) == 1:
        return redirect(f"/console/{tenants[0].tenant.name}/")
    return render(request, "console/home.html", {"tenants": tenants})

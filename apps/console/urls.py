"""The console's pages: sign-in, the platform's workers, then every page of a tenant, by section (jobs, catalogue,
members, events).

Ids of jobs and resources are opaque and may hold a "/": links percent-encode the whole id (the page_id converter),
so it is one path segment. The pages of one job or resource are told apart by how their path ends: its detail with
"/", the others with a fixed word and no slash (`agents/a%252Fb/` is the agent "a/b", `agents/a%252Fb/edit` edits
it; the hand-typed `agents/a/b/` works too). A list's own pages (`jobs/status.json`, `jobs/delete`, `agents/new`,
`agents/export`) have no "/" after the list's segment and no trailing slash, so they clash with no id either.
"""

from __future__ import annotations

from django.urls import URLPattern, include, path

from apps.accounts.views import ConsoleLoginView, choose_new_password
from apps.agents.models import Kind
from apps.console import views
from apps.console.catalogue import client_views, import_views
from apps.console.catalogue import views as catalogue
from apps.console.catalogue.pages import PAGES
from apps.console.events import views as events
from apps.console.jobs import actions
from apps.console.jobs import views as jobs
from apps.console.members import views as members
from apps.console.workers import views as workers
from apps.core import converters  # noqa: F401  # registers the page_id converter

app_name = "console"


def _kind_paths(kind: Kind) -> list[URLPattern]:
    segment, extra = PAGES[kind].segment, {"kind": kind}
    return [
        path(f"{segment}/", catalogue.resource_list, extra, name=segment),
        path(f"{segment}/new", catalogue.resource_create, extra, name=f"{segment}-new"),
        path(f"{segment}/<page_id:public_id>/", catalogue.resource_detail, extra, name=f"{segment}-detail"),
        path(f"{segment}/<page_id:public_id>/edit", catalogue.resource_edit, extra, name=f"{segment}-edit"),
        path(f"{segment}/<page_id:public_id>/delete", catalogue.resource_delete, extra, name=f"{segment}-delete"),
        # Agents, tools and MCP servers have `enabled`; tokens do not.
        *(
            [path(f"{segment}/<page_id:public_id>/enable", catalogue.resource_enable, extra, name=f"{segment}-enable")]
            if kind != Kind.TOKEN
            else []
        ),
    ]


tenant_pages: list[URLPattern] = [
    # Jobs: dashboard, list, detail, actions, audit trail.
    path("", jobs.dashboard, name="dashboard"),
    path("counts.json", jobs.dashboard_counts, name="dashboard-counts"),
    path("jobs/", jobs.job_list, name="jobs"),
    path("jobs/status.json", jobs.job_statuses, name="job-statuses"),
    path("jobs/delete", actions.jobs_bulk_delete, name="jobs-bulk-delete"),
    path("jobs/<page_id:job_id>/", jobs.job_detail, name="job-detail"),
    path("jobs/<page_id:job_id>/export.json", jobs.job_export, name="job-export"),
    path("jobs/<page_id:job_id>/delete", actions.job_delete, name="job-delete"),
    path("jobs/<page_id:job_id>/retry", actions.job_retry, name="job-retry"),
    path("jobs/<page_id:job_id>/cancel", actions.job_cancel, name="job-cancel"),
    path("audit/", jobs.audit, name="audit"),
    path("queue/", workers.tenant_queue, name="queue"),
    # The catalogue: agents, tools, MCP servers and tokens, export and import, API clients.
    path("agents/export", catalogue.agents_export, name="agents-export"),
    path("agents/<page_id:public_id>/try", catalogue.agent_try, name="agents-try"),
    *(pattern for kind in PAGES for pattern in _kind_paths(kind)),
    path("import/", import_views.import_start, name="import"),
    path("import/preview", import_views.import_preview, name="import-preview"),
    path("import/confirm", import_views.import_confirm, name="import-confirm"),
    path("clients/", client_views.client_list, name="clients"),
    path("clients/new", client_views.client_create, name="client-new"),
    path("clients/<str:client_id>/revoke", client_views.client_revoke, name="client-revoke"),
    # Members.
    path("members/", members.member_list, name="members"),
    path("members/add", members.member_add, name="member-add"),
    path("members/<int:user_id>/role", members.member_role, name="member-role"),
    path("members/<int:user_id>/password", members.member_password, name="member-password"),
    path("members/<int:user_id>/remove", members.member_remove, name="member-remove"),
    # Commerce events: the inbox, its secret, the last deliveries.
    path("events/", events.events_page, name="events"),
    path("events/secret", events.events_secret, name="events-secret"),
    path("events/rotate", events.events_rotate, name="events-rotate"),
]

urlpatterns = [
    path("", views.console_home, name="home"),
    # Before the tenant pages: "login" is kept out of tenant names (apps/tenants/services.py).
    path("login/", ConsoleLoginView.as_view(), name="login"),
    path("login/new-password", choose_new_password, name="login-new-password"),
    # Platform pages, also before the tenant pages ("workers" is a reserved tenant name too).
    path("workers/", workers.workers_page, name="workers"),
    path("<str:tenant>/", include(tenant_pages)),
]

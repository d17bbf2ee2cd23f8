"""Console pages about agents, tools, MCP servers, tokens, export/import and API clients.

Ids are opaque and may hold a "/": links percent-encode the whole id (the page_id converter), so it is one path
segment. As for the job pages, the pages of one resource are told apart by how their path ends: its detail with
"/", the others with a fixed word and no slash (`agents/a%252Fb/` is the agent "a/b", `agents/a%252Fb/edit`
edits it; the hand-typed `agents/a/b/` works too). The list's own pages (`agents/new`, `agents/export`) have no
"/" after the kind and no trailing slash, so they clash with no id either.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from apps.agents.models import Kind
from apps.console.catalogue import client_views, import_views, views
from apps.console.catalogue.pages import PAGES
from apps.core import converters  # noqa: F401  # registers the page_id converter


def _kind_paths(kind: Kind) -> list[URLPattern]:
    segment, extra = PAGES[kind].segment, {"kind": kind}
    return [
        path(f"{segment}/", views.resource_list, extra, name=segment),
        path(f"{segment}/new", views.resource_create, extra, name=f"{segment}-new"),
        path(f"{segment}/<page_id:public_id>/", views.resource_detail, extra, name=f"{segment}-detail"),
        path(f"{segment}/<page_id:public_id>/edit", views.resource_edit, extra, name=f"{segment}-edit"),
        path(f"{segment}/<page_id:public_id>/delete", views.resource_delete, extra, name=f"{segment}-delete"),
    ]


urlpatterns: list[URLPattern] = [
    path("agents/export", views.agents_export, name="agents-export"),
    path("agents/<page_id:public_id>/try", views.agent_try, name="agents-try"),
    *(pattern for kind in PAGES for pattern in _kind_paths(kind)),
    path("import/", import_views.import_start, name="import"),
    path("import/preview", import_views.import_preview, name="import-preview"),
    path("import/confirm", import_views.import_confirm, name="import-confirm"),
    path("clients/", client_views.client_list, name="clients"),
    path("clients/new", client_views.client_create, name="client-new"),
    path("clients/<str:client_id>/revoke", client_views.client_revoke, name="client-revoke"),
]

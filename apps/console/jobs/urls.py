"""Console pages about jobs: dashboard, list, detail, actions, audit trail.

Job ids are opaque and may hold a "/": links percent-encode the whole id (the page_id converter). A job's
pages are told apart by how their path ends: the detail with "/", the others with a fixed word and no slash.
Ids never clash with the list's own paths either: "jobs/status.json" and "jobs/delete" have no "/" after
"jobs/" and no trailing slash.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from apps.console.jobs import actions, views
from apps.core import converters  # noqa: F401  # registers the page_id converter

urlpatterns: list[URLPattern] = [
    path("", views.dashboard, name="dashboard"),
    path("counts.json", views.dashboard_counts, name="dashboard-counts"),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/status.json", views.job_statuses, name="job-statuses"),
    path("jobs/delete", actions.jobs_bulk_delete, name="jobs-bulk-delete"),
    path("jobs/<page_id:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<page_id:job_id>/export.json", views.job_export, name="job-export"),
    path("jobs/<page_id:job_id>/delete", actions.job_delete, name="job-delete"),
    path("jobs/<page_id:job_id>/retry", actions.job_retry, name="job-retry"),
    path("jobs/<page_id:job_id>/cancel", actions.job_cancel, name="job-cancel"),
    path("audit/", views.audit, name="audit"),
]

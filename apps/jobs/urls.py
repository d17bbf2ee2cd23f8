from django.urls import path, register_converter

from apps.jobs.api import transfer, views


class JobIdConverter:
    """Job ids are opaque and may hold a percent-encoded "/" (loaded histories keep their shape), but a
    trailing slash is never part of one: `/jobs/search/` must stay a 404, not become the job "search/"."""

    regex = r"[^/](?:.*[^/])?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(JobIdConverter, "job_id")

urlpatterns = [
    # Before the agents' own paths, so that these two are not taken for agents named "export" and "import".
    path("ai-service/<str:tenant>/agentic/agents/export", transfer.AgentExportView.as_view(), name="agents-export"),
    path("ai-service/<str:tenant>/agentic/agents/import", transfer.AgentImportView.as_view(), name="agents-import"),
    path("ai-service/<str:tenant>/jobs", views.JobListView.as_view(), name="job-list"),
    path("ai-service/<str:tenant>/jobs/search", views.JobSearchView.as_view(), name="job-search"),
    path("ai-service/<str:tenant>/jobs/<job_id:job_id>", views.JobDetailView.as_view(), name="job-detail"),
]

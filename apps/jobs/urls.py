from django.urls import path

from apps.core import converters  # noqa: F401  # registers the opaque_id converter
from apps.jobs.api import transfer, views

urlpatterns = [
    # Before the agents' own paths, so that these two are not taken for agents named "export" and "import".
    path("ai-service/<str:tenant>/agentic/agents/export", transfer.AgentExportView.as_view(), name="agents-export"),
    path("ai-service/<str:tenant>/agentic/agents/import", transfer.AgentImportView.as_view(), name="agents-import"),
    path("ai-service/<str:tenant>/jobs", views.JobListView.as_view(), name="job-list"),
    path("ai-service/<str:tenant>/jobs/search", views.JobSearchView.as_view(), name="job-search"),
    path("ai-service/<str:tenant>/jobs/<opaque_id:job_id>", views.JobDetailView.as_view(), name="job-detail"),
]

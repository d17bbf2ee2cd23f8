from django.urls import path, register_converter

from apps.core.converters import OpaqueIdConverter
from apps.jobs.api import transfer, views

# Under a name of its own: the agents' paths register the same converter as "opaque_id", and registering a name
# twice is deprecated in Django (an error from 6.0).
register_converter(OpaqueIdConverter, "job_id")

urlpatterns = [
    # Before the agents' own paths, so that these two are not taken for agents named "export" and "import".
    path("ai-service/<str:tenant>/agentic/agents/export", transfer.AgentExportView.as_view(), name="agents-export"),
    path("ai-service/<str:tenant>/agentic/agents/import", transfer.AgentImportView.as_view(), name="agents-import"),
    path("ai-service/<str:tenant>/jobs", views.JobListView.as_view(), name="job-list"),
    path("ai-service/<str:tenant>/jobs/search", views.JobSearchView.as_view(), name="job-search"),
    path("ai-service/<str:tenant>/jobs/<job_id:job_id>", views.JobDetailView.as_view(), name="job-detail"),
]

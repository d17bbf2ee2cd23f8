from django.urls import path

from apps.jobs.api import views

urlpatterns = [
    path("ai-service/<str:tenant>/jobs", views.JobListView.as_view(), name="job-list"),
    path("ai-service/<str:tenant>/jobs/search", views.JobSearchView.as_view(), name="job-search"),
    path("ai-service/<str:tenant>/jobs/<str:job_id>", views.JobDetailView.as_view(), name="job-detail"),
]

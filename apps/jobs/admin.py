from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.jobs.models import Job
from apps.jobs.services import job_delete, jobs_deleting


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("job_id", "tenant", "type", "status", "agent_type", "created_at", "message")
    list_filter = ("type", "status", "agent_type")
    list_select_related = ("tenant",)
    search_fields = ("=job_id",)
    date_hierarchy = "created_at"
    show_full_result_count = False  # counting a million rows on every page is not worth it
    ordering = ("-created_at",)

    # Deletes go through the services, as the API's and the console's do: an agent run still in progress is ended
    # with its job (its request log closed), which a bare delete would leave open for good.
    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        job_delete(job=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        with transaction.atomic():
            jobs_deleting(pks=list(queryset.values_list("pk", flat=True)))
            queryset.delete()

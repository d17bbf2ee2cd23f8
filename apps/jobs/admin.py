from django.contrib import admin

from apps.jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("job_id", "tenant", "type", "status", "agent_type", "created_at", "message")
    list_filter = ("type", "status", "agent_type")
    list_select_related = ("tenant",)
    search_fields = ("=job_id",)
    date_hierarchy = "created_at"
    show_full_result_count = False  # counting a million rows on every page is not worth it
    ordering = ("-created_at",)

"""Read-only admin pages: writes go through the API's services, which validate, keep `Reference` rows in step
and encrypt token values. Token values are never shown, not even encrypted."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.agents.models import Agent, McpServer, Reference, Token, Tool, without_secrets

RESOURCE_SEARCH = ("=public_id", "name")
NEWEST_FIRST = ("-created_at",)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_select_related = ("tenant",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ResourceAdmin(ReadOnlyAdmin):
    search_fields = RESOURCE_SEARCH
    ordering = NEWEST_FIRST


def _columns(*own: str) -> tuple[str, ...]:
    """A resource list's columns: its own fields between the name and the version."""
    return ("public_id", "tenant", "name", *own, "version", "modified_at")


@admin.register(Agent)
class AgentAdmin(ResourceAdmin):
    list_display = _columns("enabled", "agent_type")
    list_filter = ("tenant", "enabled", "agent_type")


@admin.register(Tool, McpServer)
class TypedResourceAdmin(ResourceAdmin):
    """Tools and MCP servers: each has a type and is turned on or off."""

    list_display = _columns("enabled", "type")
    list_filter = ("tenant", "enabled", "type")


@admin.register(Token)
class TokenAdmin(ResourceAdmin):
    list_display = _columns()
    list_filter = ("tenant",)
    fields = ("tenant", "public_id", "name", "version", "created_at", "modified_at")

    def get_queryset(self, request: HttpRequest) -> Any:
        return without_secrets(super().get_queryset(request))


@admin.register(Reference)
class ReferenceAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "source_kind", "source_id", "target_kind", "target_id")
    list_filter = ("tenant", "source_kind", "target_kind")
    search_fields = ("=source_id", "=target_id")
    ordering = ("tenant", "source_kind", "source_id")

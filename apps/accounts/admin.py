from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.models import ApiClient, OidcIdentity
from apps.accounts.services import api_client_revoke

# django-oauth-toolkit registers its own admin for the application model; ours knows about tenants.
if admin.site.is_registered(ApiClient):
    admin.site.unregister(ApiClient)


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "client_id", "tenant", "scopes", "created", "revoked_at")
    list_filter = ("tenant",)
    search_fields = ("name", "client_id")
    fields = ("tenant", "name", "client_id", "scopes", "revoked_at")
    # Revoking goes through the action below, which also deletes the client's tokens; a date typed into the form
    # would leave them in the database.
    readonly_fields = ("client_id", "revoked_at")
    actions = ["revoke"]

    @admin.action(description="Revoke the selected API clients (their tokens are deleted)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        clients = list(queryset.filter(revoked_at__isnull=True))
        for client in clients:
            api_client_revoke(client=client)
        self.message_user(request, f"Revoked {len(clients)} API client(s).", messages.SUCCESS)


@admin.register(OidcIdentity)
class OidcIdentityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "subject", "issuer")
    search_fields = ("user__username", "subject")
    readonly_fields = ("user", "issuer", "subject", "last_login_claims")

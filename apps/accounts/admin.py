from django.contrib import admin

from apps.accounts.models import ApiClient, OidcIdentity

# django-oauth-toolkit registers its own admin for the application model; ours knows about tenants.
if admin.site.is_registered(ApiClient):
    admin.site.unregister(ApiClient)


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "client_id", "tenant", "scopes", "created", "revoked_at")
    list_filter = ("tenant",)
    search_fields = ("name", "client_id")
    fields = ("tenant", "name", "client_id", "scopes", "revoked_at")
    readonly_fields = ("client_id",)


@admin.register(OidcIdentity)
class OidcIdentityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "subject", "issuer")
    search_fields = ("user__username", "subject")
    readonly_fields = ("user", "issuer", "subject", "last_login_claims")

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from oauth2_provider.models import AbstractApplication

from apps.tenants.models import Tenant


class Scope(models.TextChoices):
    AGENT_READ = "ai.agent_read", "Read jobs, agents, tools, MCP servers and tokens; export agents"
    AGENT_MANAGE = "ai.agent_manage", "Delete jobs; write agents, tools, MCP servers and tokens; import"
    AGENT_EXECUTION_MANAGE = "ai.agentexecution_manage", "Run agents and chat"
    AGENT_EXECUTION_MANAGE_OWN = "ai.agentexecution_manage_own", "Run agents and chat as a customer (own sessions)"


TENANT_SCOPE_PREFIX = "tenant="


class ApiClient(AbstractApplication):  # type: ignore[misc]  # the toolkit is untyped
    """An OAuth2 client (client-credentials grant) that belongs to exactly one tenant.

    This is django-oauth-toolkit's swappable Application: its access tokens point here, so every token knows
    its tenant through its client. The secret is stored hashed (the toolkit's default).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_clients")
    scopes = models.CharField(max_length=255, help_text="Allowed scopes, separated by spaces")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractApplication.Meta):  # type: ignore[misc]
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"

    @property
    def allowed_scopes(self) -> list[str]:
        return self.scopes.split()

    @property
    def tenant_scope(self) -> str:
        return f"{TENANT_SCOPE_PREFIX}{self.tenant.name}"

    def is_usable(self, request: Any) -> bool:
        # A revoked client can no longer obtain tokens.
        return self.revoked_at is None


class OidcIdentity(models.Model):
    """Who a console user is at the company's OpenID provider: users are matched on (issuer, sub), never on an
    e-mail address, which a provider may let people change or reuse."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identity")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    last_login_claims = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="accounts_oidc_identity_unique")]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class PasswordChangeRequired(models.Model):
    """A local user whose password was made for them (create_user, the members page) and was shown to someone
    else: at their next sign-in they choose their own before they get a session."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} must choose a new password"

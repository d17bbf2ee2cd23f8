"""The tenant's audit trail: who did what, when, to which object, in the console or through the API.

It sits below the domain apps so that the API views of agents and jobs and the console all write to it without
an import pointing up. The table keeps the name it had when the console owned the model."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.timefmt import now_ms
from apps.tenants.models import Tenant


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        JOB_DELETE = "job.delete", "Deleted a job"
        JOBS_BULK_DELETE = "jobs.bulk_delete", "Deleted jobs in bulk"
        JOB_RETRY = "job.retry", "Retried a job"
        JOB_CANCEL = "job.cancel", "Cancelled an agent run"
        AGENT_RUN = "agent.run", "Ran an agent from the console"
        AGENTS_EXPORT = "agents.export", "Exported agents"
        AGENTS_IMPORT = "agents.import", "Imported agents"
        RESOURCE_SAVE = "resource.save", "Saved an agent, tool, MCP server or token"
        RESOURCE_DELETE = "resource.delete", "Deleted an agent, tool, MCP server or token"
        CLIENT_CREATE = "client.create", "Created an API client"
        CLIENT_REVOKE = "client.revoke", "Revoked an API client"
        MEMBER_CREATE = "member.create", "Created a local user as a member"
        MEMBER_ADD = "member.add", "Added a member"
        MEMBER_ROLE = "member.role", "Changed a member's role"
        MEMBER_PASSWORD_RESET = "member.password_reset", "Reset a member's password"
        MEMBER_REMOVE = "member.remove", "Removed a member"
        EVENT_SECRET_REVEAL = "event_secret.reveal", "Showed the commerce event secret"
        EVENT_SECRET_ROTATE = "event_secret.rotate", "Rotated the commerce event secret"

    at = models.DateTimeField(default=now_ms)
    # Kept when the user is deleted: the trail must outlive the people in it.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150)
    # A write through the API: the client whose token made it, and the token's subject when an external identity
    # provider issued it. Both empty for the console's own actions, which name their user above.
    api_client_id = models.CharField(max_length=255, blank=True, default="")
    subject = models.CharField(max_length=255, blank=True, default="")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_events")
    action = models.CharField(max_length=32, choices=Action.choices)
    object_id = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "console_auditevent"
        indexes = [models.Index(fields=["tenant", "-at"], name="console_audit_tenant_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_id}"

    @property
    def actor(self) -> str:
        """Who did it, as the audit page shows it."""
        if not self.api_client_id:
            return self.username
        return f"API client {self.api_client_id}" + (f" (subject {self.subject})" if self.subject else "")

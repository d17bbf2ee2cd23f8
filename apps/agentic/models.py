"""What agent runs leave behind: request and session logs, the conversation an agent remembers per session, and
the commerce events received (with the secret that signs them).

A *request* is one run of an agent (one AGENT_CHAT job); a *session* groups the requests made with one `sessionId`.
Log messages are rows of their own, written as the run goes, so a transcript can be read while the run is going on.
"""

from __future__ import annotations

from django.db import models

from apps.core.ids import ID_MAX_LENGTH, new_object_id
from apps.core.models import Versioned
from apps.core.timefmt import now_ms
from apps.tenants.models import Tenant


class Severity(models.TextChoices):
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class AgentRequest(Versioned):
    """The request log of one run. `log_id` is the API's `id`; `request_id` is what jobs and messages point at."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    log_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_object_id)
    request_id = models.CharField(max_length=ID_MAX_LENGTH)
    session_id = models.CharField(max_length=ID_MAX_LENGTH)
    trigger_agent_id = models.CharField(max_length=ID_MAX_LENGTH)
    collaboration_agents = models.JSONField(default=list, blank=True)  # ids of the agents it transferred to
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.INFO)
    job_id = models.CharField(max_length=ID_MAX_LENGTH, null=True, blank=True)  # the AGENT_CHAT job's public id
    started_at = models.DateTimeField(default=now_ms)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "request_id"], name="agentic_request_unique_per_tenant"),
        ]
        indexes = [
            models.Index(fields=["tenant", "created_at", "request_id"], name="agentic_request_created"),
            models.Index(fields=["tenant", "session_id", "created_at"], name="agentic_request_session"),
            models.Index(fields=["tenant", "trigger_agent_id", "created_at"], name="agentic_request_agent"),
        ]

    def __str__(self) -> str:
        return f"request {self.request_id} of agent {self.trigger_agent_id}"


class AgentSession(Versioned):
    """The requests made with one sessionId: which agents took part, the worst severity, the time spanned."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    session_id = models.CharField(max_length=ID_MAX_LENGTH)
    trigger_agent_id = models.CharField(max_length=ID_MAX_LENGTH)
    agents = models.JSONField(default=list, blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.INFO)
    started_at = models.DateTimeField(default=now_ms)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Who started it through chat (the API client's id, or an external token's subject): a caller with only
    # ai.agentexecution_manage_own continues its own sessions only. Empty: started by an event or the console.
    owner = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "session_id"], name="agentic_session_unique_per_tenant"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at", "session_id"], name="agentic_session_created")]

    def __str__(self) -> str:
        return f"session {self.session_id}"


class LogMessage(models.Model):
    """One line of a run's transcript, in the phrases the upstream dashboard parses (apps.agentic.logs)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    session_id = models.CharField(max_length=ID_MAX_LENGTH)
    request_id = models.CharField(max_length=ID_MAX_LENGTH)
    agent_id = models.CharField(max_length=ID_MAX_LENGTH)
    timestamp = models.DateTimeField(default=now_ms)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.INFO)
    message = models.TextField()
    is_business_log = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "request_id", "timestamp", "id"], name="agentic_message_request"),
            models.Index(fields=["tenant", "session_id", "timestamp", "id"], name="agentic_message_session"),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%H:%M:%S} {self.severity} {self.message[:60]}"


class SessionMemory(models.Model):
    """What an agent with `enabledMemory` remembers of a session: the run's messages as the runtime serialised
    them, replaced after each successful run."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    session_id = models.CharField(max_length=ID_MAX_LENGTH)
    agent_id = models.CharField(max_length=ID_MAX_LENGTH)
    messages = models.JSONField(default=list)
    modified_at = models.DateTimeField(default=now_ms)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "session_id", "agent_id"], name="agentic_memory_unique"),
        ]

    def __str__(self) -> str:
        return f"memory of agent {self.agent_id} in session {self.session_id}"


class EventSecret(models.Model):
    """The secret a tenant's commerce events are signed with (Standard Webhooks, `whsec_<base64>`), encrypted at
    rest like token values. After a rotation the previous secret keeps working until `previous_valid_until`."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="+")
    encrypted_secret = models.TextField()
    encrypted_previous = models.TextField(null=True, blank=True)
    previous_valid_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now_ms)

    def __str__(self) -> str:
        return f"event secret of tenant {self.tenant_id}"


class EventDelivery(models.Model):
    """A commerce event received, by its `webhook-id`: the same id again answers the same jobs and makes none."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    webhook_id = models.CharField(max_length=ID_MAX_LENGTH)
    event = models.CharField(max_length=255)
    job_ids = models.JSONField(default=list)
    received_at = models.DateTimeField(default=now_ms)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "webhook_id"], name="agentic_delivery_unique"),
        ]
        indexes = [models.Index(fields=["received_at"], name="agentic_delivery_received")]

    def __str__(self) -> str:
        return f"{self.event} {self.webhook_id}"

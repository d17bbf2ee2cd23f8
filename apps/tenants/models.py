from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

# \A and \Z, not ^ and $: "$" also matches before a final newline, which would let "acme\n" through.
TENANT_NAME_PATTERN = r"\A[a-z][a-z0-9]{2,15}\Z"
tenant_name_validator = RegexValidator(
    TENANT_NAME_PATTERN, "A tenant name is 3-16 lowercase letters and digits, starting with a letter."
)


class Tenant(models.Model):
    """A commerce tenant: every API path, job and API client belongs to exactly one."""

    name = models.CharField(max_length=16, unique=True, validators=[tenant_name_validator])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A console user's role in one tenant. Users who sign in with the company's provider get theirs from
    its claims at every sign-in (see apps/accounts/oidc.py); the provider is the source of truth."""

    class Role(models.TextChoices):
        MANAGER = "manager", "Manager: reads and acts"
        VIEWER = "viewer", "Viewer: reads only"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="tenants_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.tenant}"

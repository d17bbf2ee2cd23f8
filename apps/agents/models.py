"""Agents and what they use: tools, MCP servers and the tokens those authenticate with.

Each resource keeps the columns that are searched, sorted or constrained, and the rest of its validated API
representation in `body`. What one resource uses of another is also written to `Reference`, so that
"who depends on this?" (delete checks, exports) is an indexed query on every database.
"""

from __future__ import annotations

from typing import TypeAlias, TypeVar

from django.db import models
from django.db.models import QuerySet

from apps.core.ids import ID_MAX_LENGTH, new_object_id
from apps.core.models import Versioned
from apps.tenants.models import Tenant


class Kind(models.TextChoices):
    AGENT = "agent"
    TOOL = "tool"
    MCP_SERVER = "mcp_server"
    TOKEN = "token"  # noqa: S105 - a kind of resource, not a secret


class Resource(Versioned):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    # The API's `id`: new ones are 24-hex object ids; ids given by clients (upsert by PUT) are kept as given.
    public_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_object_id)
    name = models.CharField(max_length=500)
    body = models.JSONField(default=dict, blank=True)

    kind: Kind

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"


class SwitchedResource(Resource):
    """A resource that is off until a client turns it on: agents, tools and MCP servers."""

    enabled = models.BooleanField(default=False)

    class Meta:
        abstract = True


def _resource_rules(prefix: str) -> tuple[list[models.BaseConstraint], list[models.Index]]:
    """Each resource table's constraints and indexes: ids unique per tenant, and the index of the default sort. The
    names keep the prefix each table was created with."""
    return (
        [models.UniqueConstraint(fields=["tenant", "public_id"], name=f"{prefix}_unique_id_per_tenant")],
        [models.Index(fields=["tenant", "created_at", "public_id"], name=f"{prefix}_tenant_created")],
    )


class AgentType(models.TextChoices):
    """What an agent is for: the one list, also the `agentType` of the jobs that run an agent (Job.AgentType)."""

    SUPPORT = "support"
    GENERIC = "generic"
    COMPLAINT = "complaint"
    ANTI_FRAUD = "anti_fraud"


class Agent(SwitchedResource):
    """`name` holds the text searched and sorted on (the English name, else the first one); the localized
    names live in `body["name"]` as the API sends them."""

    AgentType: TypeAlias = AgentType

    kind = Kind.AGENT
    agent_type = models.CharField(max_length=16, choices=AgentType.choices, null=True, blank=True)

    class Meta:
        constraints, indexes = _resource_rules("agents_agent")


class Tool(SwitchedResource):
    class Type(models.TextChoices):
        SLACK = "slack"
        RAG_CUSTOM = "rag_custom"
        RAG_EMPORIX = "rag_emporix"
        TEAMS = "teams"

    kind = Kind.TOOL
    type = models.CharField(max_length=16, choices=Type.choices)

    class Meta:
        constraints, indexes = _resource_rules("agents_tool")


class McpServer(SwitchedResource):
    class Type(models.TextChoices):
        CUSTOM = "custom"
        DYNAMIC = "dynamic"

    kind = Kind.MCP_SERVER
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.CUSTOM)

    class Meta:
        constraints, indexes = _resource_rules("agents_mcp")


class Token(Resource):
    """A secret an agent, tool or MCP server authenticates with. The value is stored encrypted (see
    apps.agents.crypto) and is never returned, logged or exported."""

    kind = Kind.TOKEN
    encrypted_value = models.TextField()

    class Meta:
        constraints, indexes = _resource_rules("agents_token")


_SECRET_COLUMNS: dict[type[models.Model], tuple[str, ...]] = {Token: ("encrypted_value",)}
_Read = TypeVar("_Read", bound=models.Model)


def without_secrets(queryset: QuerySet[_Read]) -> QuerySet[_Read]:
    """The rows without their secret columns (a token's encrypted value). Reads never need a secret; leaving it in
    the database keeps it out of memory, of any dump and of every page: the one rule every read of a page follows."""
    secret = _SECRET_COLUMNS.get(queryset.model, ())
    return queryset.defer(*secret) if secret else queryset

    def __repr__(self) -> str:
        return f"<Token {self.public_id}>"


class Reference(models.Model):
    """One resource uses another: an agent its tools, MCP servers, collaborators and LLM token; a tool or MCP
    server its tokens. Rewritten whole on every upsert of the source."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    source_kind = models.CharField(max_length=16, choices=Kind.choices)
    source_id = models.CharField(max_length=ID_MAX_LENGTH)
    target_kind = models.CharField(max_length=16, choices=Kind.choices)
    target_id = models.CharField(max_length=ID_MAX_LENGTH)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source_kind", "source_id", "target_kind", "target_id"],
                name="agents_reference_unique",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "target_kind", "target_id"], name="agents_reference_target"),
        ]

    def __str__(self) -> str:
        return f"{self.source_kind} {self.source_id} -> {self.target_kind} {self.target_id}"


RESOURCE_MODELS: dict[Kind, type[Agent | Tool | McpServer | Token]] = {
    Kind.AGENT: Agent,
    Kind.TOOL: Tool,
    Kind.MCP_SERVER: McpServer,
    Kind.TOKEN: Token,
}

"""How the API fields of agents, tools, MCP servers and tokens map to columns: for q, sort and fields."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from apps.agents.models import Agent, Kind, McpServer, Tool
from apps.core.listing import FieldTree, SortKey
from apps.core.query import FieldKind, FieldSpec


class _AnyKeys(Mapping[str, "FieldTree | None"]):
    """The field tree of a free-form object (localized texts, configurations): any path below it is valid."""

    def __getitem__(self, key: str) -> _AnyKeys:
        return self

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


ANY = _AnyKeys()
METADATA_TREE = {"version": None, "createdAt": None, "modifiedAt": None}
# metadata has three required fields, so it is always returned whole (as for jobs).
WHOLE_OBJECTS = frozenset({"metadata"})
DEFAULT_SORT = (SortKey("metadata.createdAt", True),)
TIEBREAK = "public_id"


@dataclass(frozen=True)
class KindFields:
    searchable: dict[str, FieldSpec]
    sortable: dict[str, str]
    tree: FieldTree


def _specs(*specs: FieldSpec) -> dict[str, FieldSpec]:
    common = (
        FieldSpec("id", "public_id", FieldKind.TEXT, nullable=False),
        FieldSpec("name", "name", FieldKind.TEXT, nullable=False),
        FieldSpec("metadata.version", "version", FieldKind.INT, nullable=False),
        FieldSpec("metadata.createdAt", "created_at", FieldKind.DATETIME, nullable=False),
        FieldSpec("metadata.modifiedAt", "modified_at", FieldKind.DATETIME, nullable=False),
    )
    return {spec.name: spec for spec in (*common, *specs)}


def _sortable(searchable: dict[str, FieldSpec]) -> dict[str, str]:
    return {name: spec.lookup for name, spec in searchable.items()}


_ENABLED = FieldSpec("enabled", "enabled", FieldKind.BOOL, nullable=False)

_AGENT = _specs(_ENABLED, FieldSpec("type", "agent_type", FieldKind.ENUM, tuple(Agent.AgentType.values)))
_TOOL = _specs(_ENABLED, FieldSpec("type", "type", FieldKind.ENUM, tuple(Tool.Type.values), nullable=False))
_MCP = _specs(_ENABLED, FieldSpec("type", "type", FieldKind.ENUM, tuple(McpServer.Type.values), nullable=False))
_TOKEN = _specs()

FIELDS: dict[Kind, KindFields] = {
    Kind.AGENT: KindFields(
        _AGENT,
        _sortable(_AGENT),
        {
            "id": None,
            "name": ANY,
            "description": ANY,
            "type": None,
            "enabled": None,
            "userPrompt": None,
            "triggers": None,
            "llmConfig": ANY,
            "mcpServers": None,
            "nativeTools": None,
            "agentCollaborations": None,
            "maxRecursionLimit": None,
            "enabledMemory": None,
            "requiredScopes": None,
            "icon": None,
            "tags": None,
            "outputFormat": None,
            "handOff": None,
            "metadata": METADATA_TREE,
        },
    ),
    Kind.TOOL: KindFields(
        _TOOL,
        _sortable(_TOOL),
        {"id": None, "name": None, "type": None, "enabled": None, "config": ANY, "metadata": METADATA_TREE},
    ),
    Kind.MCP_SERVER: KindFields(
        _MCP,
        _sortable(_MCP),
        {
            "id": None,
            "name": None,
            "type": None,
            "enabled": None,
            "transport": None,
            "config": ANY,
            "tools": None,
            "metadata": METADATA_TREE,
        },
    ),
    Kind.TOKEN: KindFields(_TOKEN, _sortable(_TOKEN), {"id": None, "name": None, "metadata": METADATA_TREE}),
}

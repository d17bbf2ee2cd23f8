"""Export bundles: what an export holds, how it is encoded and signed, and how an import checks it.

A bundle is a JSON document `{"formatVersion", "agents", "tools", "mcpServers", "tokens"}`, sent as base64 of its
UTF-8 bytes, with an HMAC-SHA256 of those bytes (keyed by EXPORT_SIGNING_KEY) as the checksum: only an
installation holding the key can make a checksum that import accepts. Tokens travel as `{"id", "name"}` only —
never their values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Q

from apps.agents.models import Agent, Kind, McpServer, Reference, Token, Tool
from apps.agents.representation import AnyResource
from apps.core.ids import is_stored_id
from apps.tenants.models import Tenant

FORMAT_VERSION = 1
SECTIONS = ("agents", "tools", "mcpServers", "tokens")
R = TypeVar("R", Agent, Tool, McpServer, Token)
# An HMAC-SHA256 in hex, as bundle_encode writes it (upper case and surrounding blanks are forgiven).
_CHECKSUM = re.compile(r"[0-9a-f]{64}")


class BundleError(Exception):
    """A bundle that cannot be imported; the message says why, `field` names the request field."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def bundle_collect(*, tenant: Tenant, agent_ids: list[str]) -> dict[str, Any]:
    """The agents, every agent they collaborate with (transitively), and the tools, MCP servers and token
    references all of those use."""
    agents, uses = _with_collaborators(tenant, agent_ids)
    tools = _resources(Tool, tenant, uses.get(Kind.TOOL, set()))
    servers = _resources(McpServer, tenant, uses.get(Kind.MCP_SERVER, set()))
    components = [(Kind.TOOL, tool.public_id) for tool in tools] + [(Kind.MCP_SERVER, s.public_id) for s in servers]
    token_ids = uses.get(Kind.TOKEN, set()) | _targets(tenant, components).get(Kind.TOKEN, set())
    tokens = _resources(Token, tenant, token_ids)
    return {
        "formatVersion": FORMAT_VERSION,
        "agents": [_entry(agent) for agent in agents],
        "tools": [_entry(tool) for tool in tools],
        "mcpServers": [_entry(server) for server in servers],
        "tokens": [{"id": token.public_id, "name": token.name} for token in tokens],
    }


def agents_unknown(*, tenant: Tenant, agent_ids: list[str]) -> list[str]:
    """The ids, in the order given, of agents the tenant does not have."""
    # An id no row can hold (a NUL, which PostgreSQL refuses even to compare) is unknown without asking.
    lookable = [agent_id for agent_id in agent_ids if is_stored_id(agent_id)]
    known = set(Agent.objects.filter(tenant=tenant, public_id__in=lookable).values_list("public_id", flat=True))
    return [agent_id for agent_id in dict.fromkeys(agent_ids) if agent_id not in known]


def bundle_encode(document: dict[str, Any]) -> tuple[str, str]:
    """(data, checksum): base64 of the document's canonical JSON, and its keyed checksum."""
    raw = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.b64encode(raw).decode("ascii"), _checksum(raw)


def bundle_decode(data: Any, checksum: Any) -> dict[str, Any]:
    """The document inside an export, once base64, checksum, JSON, format version and shape all check out."""
    if not isinstance(data, str) or not data:
        raise BundleError("data is required: the base64 text of an export.", "data")
    if not isinstance(checksum, str) or not checksum:
        raise BundleError("checksum is required: the checksum that came with the export.", "checksum")
    checksum = checksum.strip().lower()
    if not _CHECKSUM.fullmatch(checksum):
        raise BundleError(
            "checksum must be the 64 hexadecimal characters (an HMAC-SHA256) that came with the export.", "checksum"
        )
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise BundleError("data is not valid base64.", "data") from None
    # Constant time, on bytes: the comparison tells nothing about how much of a forged checksum was right.
    if not hmac.compare_digest(_checksum(raw).encode("ascii"), checksum.encode("ascii")):
        raise BundleError(
            "checksum does not match data: the export was changed after it was made, or made by an "
            "installation with another export signing key.",
            "checksum",
        )
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BundleError("data does not hold a JSON document.", "data") from None
    _check_shape(document)
    return dict(document)


def _checksum(raw: bytes) -> str:
    return hmac.new(settings.EXPORT_SIGNING_KEY.encode(), raw, hashlib.sha256).hexdigest()


def _check_shape(document: Any) -> None:
    if not isinstance(document, dict):
        raise BundleError("data does not hold an export: expected a JSON object.", "data")
    version = document.get("formatVersion")
    # `type(...) is int`: JSON's true and 1.0 compare equal to 1 in Python, but are not this format's version.
    if type(version) is not int or version != FORMAT_VERSION:
        raise BundleError(
            f"Export format version {version!r} is not supported; this installation reads version {FORMAT_VERSION}.",
            "data",
        )
    for section in SECTIONS:
        entries = document.get(section, [])
        if not isinstance(entries, list) or not all(_has_id(entry) for entry in entries):
            raise BundleError(f"data.{section} must be a list of objects, each with a string id.", "data")
    if not document.get("agents"):
        raise BundleError("The export holds no agents.", "data")


def _has_id(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"] != ""


def _with_collaborators(tenant: Tenant, agent_ids: list[str]) -> tuple[list[Agent], dict[str, set[str]]]:
    """The agents and those they hand off to, transitively; and everything all of them use, by kind."""
    found: dict[str, Agent] = {}
    uses: dict[str, set[str]] = {}
    wanted = list(dict.fromkeys(agent_ids))
    while wanted:
        batch = _resources(Agent, tenant, wanted)
        found.update((agent.public_id, agent) for agent in batch)
        for kind, targets in _targets(tenant, [(Kind.AGENT, agent.public_id) for agent in batch]).items():
            uses.setdefault(kind, set()).update(targets)
        wanted = sorted(uses.get(Kind.AGENT, set()) - found.keys())
    return sorted(found.values(), key=lambda agent: (agent.created_at, agent.public_id)), uses


def _targets(tenant: Tenant, sources: list[tuple[Kind, str]]) -> dict[str, set[str]]:
    """What the given resources use, by kind of target: one query for any mix of sources."""
    out: dict[str, set[str]] = {}
    if not sources:
        return out
    which = Q()
    for kind in {kind for kind, _ in sources}:
        which |= Q(source_kind=kind, source_id__in=[public_id for k, public_id in sources if k == kind])
    rows = Reference.objects.filter(which, tenant=tenant)
    for target_kind, target_id in rows.values_list("target_kind", "target_id"):
        out.setdefault(target_kind, set()).add(target_id)
    return out


def _resources(model: type[R], tenant: Tenant, ids: Iterable[str]) -> list[R]:
    rows = model.objects.filter(tenant=tenant, public_id__in=list(ids)).order_by("created_at", "public_id")
    return list(rows)


def _entry(resource: AnyResource) -> dict[str, Any]:
    return {"id": resource.public_id, **resource.body}

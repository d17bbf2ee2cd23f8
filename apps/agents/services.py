"""Writes of agents, tools, MCP servers and tokens, with the `Reference` rows that say who uses whom.

Every write runs in one transaction and locks the rows it depends on: the resources an upsert references
(so that they cannot be deleted under it) and the resource a delete removes together with its dependants.
Locks are always taken referenced-first, the order both writes share. What they refuse, they raise as the domain
errors of apps/agents/errors.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from apps.agents.crypto import decrypt_value, encrypt_value, reencrypt_value
from apps.agents.errors import Dependant, ResourceError, ResourceInUse, ResourceNotFound, VersionConflict
from apps.agents.models import RESOURCE_MODELS, Kind, Reference, Token
from apps.agents.names import KIND_NAMES
from apps.agents.references import (
    reference_fields,
    references_drop,
    references_sync,
    references_unassign,
)
from apps.agents.representation import AnyResource, columns_from_body
from apps.core.ids import id_problem
from apps.tenants.models import Tenant


@dataclass(frozen=True)
class Upsert:
    """A validated upsert: the representation to store, the version the client based it on, and (tokens only)
    the secret value, kept out of `repr` so that it never reaches a log."""

    body: dict[str, Any]
    version: int | None = None
    token_value: str | None = field(default=None, repr=False)


@sensitive_variables("upsert", "token_value")
def resource_upsert(*, tenant: Tenant, kind: Kind, public_id: str, upsert: Upsert) -> bool:
    """Create or replace a resource from its validated representation; True when it was created.

    The upsert's `version`, when given, must be the stored one (optimistic locking). The resources the representation
    references must exist in the tenant. A new resource's id must pass apps.core.ids. For tokens, its `token_value`
    is the secret: required on create, and unchangeable after (upstream's rule). On an update it is ignored,
    without comparing it to the stored one, so the answer tells nothing about that value.
    """
    body, version, token_value = upsert.body, upsert.version, upsert.token_value
    model = RESOURCE_MODELS[kind]
    with transaction.atomic():
        _lock_references(tenant, kind, public_id, body)
        resource = model.objects.select_for_update().filter(tenant=tenant, public_id=public_id).first()
        if resource is None:
            _create(tenant, kind, public_id, body, token_value)
            created = True
        else:
            if version is not None and version != resource.version:
                raise VersionConflict(
                    f"The {KIND_NAMES[kind]} {public_id} is at version {resource.version}, not {version}; "
                    "read it again and reapply the change.",
                    field="metadata.version",
                )
            if isinstance(resource, Token) and token_value is not None:
                _repair_token_value(resource, token_value)
            _assign(resource, kind, body)
            resource.save()
            created = False
        references_sync(tenant=tenant, kind=kind, public_id=public_id, body=body)
    return created


@sensitive_variables("token_value")
def _create(tenant: Tenant, kind: Kind, public_id: str, body: dict[str, Any], token_value: str | None) -> None:
    problem = id_problem(public_id)
    if problem:
        raise ResourceError(problem, field="id")
    model = RESOURCE_MODELS[kind]
    resource = model(tenant=tenant, public_id=public_id)
    _assign(resource, kind, body)
    if isinstance(resource, Token):
        if token_value is None:
            raise ResourceError("A new token needs its value.", field="value")
        resource.encrypted_value = encrypt_value(token_value)
    try:
        with transaction.atomic():
            resource.save(force_insert=True)
    except IntegrityError:
        # Another request created the same id between our look-up and this insert.
        raise VersionConflict(
            f"The {KIND_NAMES[kind]} {public_id} was created by another request at the same time; retry.",
            field="id",
        ) from None


def _assign(resource: AnyResource, kind: Kind, body: dict[str, Any]) -> None:
    resource.body = body
    for column, value in columns_from_body(kind, body).items():
        setattr(resource, column, value)


@sensitive_variables("token_value")
def _repair_token_value(token: Token, token_value: str) -> None:
    """The value sent for an existing token is ignored, unless no configured key opens the stored one (the keys
    were changed): taking the value sent is then the only way to make the token usable again. Either way the
    caller gets the same answer, and the stored value is never compared with anything."""
    if decrypt_value(token.encrypted_value) is None:
        token.encrypted_value = encrypt_value(token_value)


def _lock_references(tenant: Tenant, kind: Kind, public_id: str, body: dict[str, Any]) -> None:
    """Check that every resource the body references exists in the tenant, and lock those rows until commit."""
    wanted: dict[Kind, set[str]] = defaultdict(set)
    fields = reference_fields(kind, body)
    for ref in fields:
        if kind == Kind.AGENT and ref.target_kind == Kind.AGENT and ref.target_id == public_id:
            raise ResourceError("An agent cannot collaborate with itself.", field=ref.path)
        wanted[ref.target_kind].add(ref.target_id)
    found: dict[Kind, set[str]] = {}
    for target_kind in sorted(wanted):
        rows = (
            RESOURCE_MODELS[target_kind]
            .objects.select_for_update()
            .filter(tenant=tenant, public_id__in=sorted(wanted[target_kind]))
            .order_by("public_id")
            .values_list("public_id", flat=True)
        )
        found[target_kind] = set(rows)
    for ref in fields:
        if ref.target_id not in found[ref.target_kind]:
            raise ResourceError(
                f"No {KIND_NAMES[ref.target_kind]} with id {ref.target_id} in this tenant.", field=ref.path
            )


def resource_delete(*, tenant: Tenant, kind: Kind, public_id: str, force: bool = False) -> list[Dependant]:
    """Delete a resource. While others use it, that takes `force`, which unassigns it from each of them; those
    are returned, for the audit trail."""
    model = RESOURCE_MODELS[kind]
    with transaction.atomic():
        resource = model.objects.select_for_update().filter(tenant=tenant, public_id=public_id).first()
        if resource is None:
            raise ResourceNotFound(f"No {KIND_NAMES[kind]} with id {public_id} in this tenant.")
        dependants = _lock_dependants(tenant, kind, public_id)
        if dependants and not force:
            raise ResourceInUse(_in_use_message(kind, public_id, dependants), [_describe(d) for d in dependants])
        for dependant in dependants:
            body = references_unassign(dependant.kind, dependant.body, kind, public_id)
            _assign(dependant, dependant.kind, body)
            dependant.save()
            references_sync(tenant=tenant, kind=dependant.kind, public_id=dependant.public_id, body=body)
        # Rows left behind by anything that bypassed the services would otherwise outlive the resource.
        Reference.objects.filter(tenant=tenant, target_kind=kind, target_id=public_id).delete()
        references_drop(tenant=tenant, kind=kind, public_id=public_id)
        resource.delete()
    return [_describe(d) for d in dependants]


def _lock_dependants(tenant: Tenant, kind: Kind, public_id: str) -> list[AnyResource]:
    """The resources of the tenant that use this one (itself excluded), locked, in a stable order."""
    sources: dict[Kind, list[str]] = defaultdict(list)
    rows = (
        Reference.objects.filter(tenant=tenant, target_kind=kind, target_id=public_id)
        .exclude(source_kind=kind, source_id=public_id)
        .values_list("source_kind", "source_id")
    )
    for source_kind, source_id in rows:
        sources[Kind(source_kind)].append(source_id)
    found: list[AnyResource] = []
    for source_kind in sorted(sources):
        found += (
            RESOURCE_MODELS[source_kind]
            .objects.select_for_update()
            .filter(tenant=tenant, public_id__in=sources[source_kind])
            .order_by("public_id")
        )
    return found


def _describe(resource: AnyResource) -> Dependant:
    return Dependant(resource.kind, resource.public_id, resource.name)


def _in_use_message(kind: Kind, public_id: str, dependants: Iterable[AnyResource], shown: int = 10) -> str:
    described = [str(_describe(d)) for d in dependants]
    listed = ", ".join(described[:shown]) + (f" and {len(described) - shown} more" if len(described) > shown else "")
    return (
        f"The {KIND_NAMES[kind]} {public_id} is used by {listed}; delete it with force=true to unassign it from "
        "them first."
    )


@dataclass(frozen=True)
class Reencryption:
    reencrypted: int
    unreadable: list[str]  # "tenant/token id" of values no configured key opens


# Other apps' secrets encrypted with the same keys (the commerce events' signing secrets), registered from their
# AppConfig.ready() so that one command re-encrypts them all.
OTHER_REENCRYPTIONS: list[Callable[[], Reencryption]] = []


def secrets_reencrypt() -> Reencryption:
    """Token values, then every registered kind of secret, encrypted again with the first key."""
    results = [token_values_reencrypt(), *(reencrypt() for reencrypt in OTHER_REENCRYPTIONS)]
    return Reencryption(
        reencrypted=sum(r.reencrypted for r in results), unreadable=[u for r in results for u in r.unreadable]
    )


def token_values_reencrypt(*, batch_size: int = 500) -> Reencryption:
    """Every stored token value, of every tenant, encrypted again with the first of TOKEN_ENCRYPTION_KEYS, so that
    older keys (such as the one versions before explicit keys derived from the secret key) can then be removed.
    A maintenance write for the operator, across tenants on purpose; one transaction per batch."""
    reencrypted, unreadable = 0, []
    last = 0
    while True:
        with transaction.atomic():
            batch = list(
                Token.objects.select_for_update()
                .select_related("tenant")
                .filter(pk__gt=last)
                .order_by("pk")[:batch_size]
            )
            for token in batch:
                value = reencrypt_value(token.encrypted_value)
                if value is None:
                    unreadable.append(f"{token.tenant.name}/{token.public_id}")
                    continue
                token.encrypted_value = value
                token.save(update_fields=["encrypted_value"])
                reencrypted += 1
        if len(batch) < batch_size:
            return Reencryption(reencrypted=reencrypted, unreadable=unreadable)
        last = batch[-1].pk

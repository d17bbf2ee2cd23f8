"""Standard Webhooks signatures, as the commerce events inbox checks them.

A sender signs `"{webhook-id}.{webhook-timestamp}.{raw body}"` with HMAC-SHA256 under the key the secret
`whsec_<base64 of the key>` holds, and sends `webhook-signature: v1,<base64 of the MAC>` (several space-separated
signatures are allowed, so a sender can sign with an old and a new secret while a rotation is going on). No
Django here: plain functions that the inbox's view and the tests' signing helper both follow.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PREFIX = "whsec_"
KEY_BYTES = 32
# The scheme's version; signatures of other versions are ignored, as the standard asks.
VERSION = "v1"
HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE = "webhook-id", "webhook-timestamp", "webhook-signature"
# A timestamp with more digits than this is not a time anyone means; refusing it early keeps int() cheap.
_TIMESTAMP_MAX_DIGITS = 12


class SignatureError(Exception):
    """The delivery is not authentic (or not fresh): the inbox answers 401 with this message."""


@dataclass(frozen=True)
class SignedHeaders:
    webhook_id: str
    timestamp: int
    signatures: tuple[str, ...]  # the base64 MACs of the v1 signatures


def secret_new() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The key bytes a `whsec_` secret holds. Raises ValueError for anything else."""
    if not secret.startswith(PREFIX):
        raise ValueError("A webhook secret starts with whsec_.")
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("A webhook secret is whsec_ followed by base64.") from None
    if not key:
        raise ValueError("A webhook secret holds at least one byte.")
    return key


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value for one delivery: `v1,<base64>`."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(mac).decode()}"


def headers_read(headers: Mapping[str, str]) -> SignedHeaders:
    """The three headers, present and well formed; SignatureError naming what is missing otherwise."""
    webhook_id = headers.get(HEADER_ID, "")
    raw_timestamp = headers.get(HEADER_TIMESTAMP, "")
    raw_signatures = headers.get(HEADER_SIGNATURE, "")
    missing = [name for name, value in _named(webhook_id, raw_timestamp, raw_signatures) if not value.strip()]
    if missing:
        raise SignatureError(f"The delivery is not signed: missing {', '.join(missing)}.")
    timestamp = raw_timestamp.strip()
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > _TIMESTAMP_MAX_DIGITS:
        raise SignatureError(f"{HEADER_TIMESTAMP} must be the time of sending in whole seconds since 1970.")
    # Each entry is `version,mac`; entries of other versions are skipped.
    macs = tuple(
        mac for version, _, mac in (entry.partition(",") for entry in raw_signatures.split()) if version == VERSION
    )
    return SignedHeaders(webhook_id=webhook_id, timestamp=int(timestamp), signatures=macs)


def _named(webhook_id: str, timestamp: str, signatures: str) -> list[tuple[str, str]]:
    return [(HEADER_ID, webhook_id), (HEADER_TIMESTAMP, timestamp), (HEADER_SIGNATURE, signatures)]


def freshness_check(signed: SignedHeaders, *, now: float, tolerance: int) -> None:
    """Refuses a timestamp further than `tolerance` seconds from now, either way: a replay captured long ago,
    or a sender whose clock is wrong (whose deliveries could otherwise be replayed later)."""
    if signed.timestamp < now - tolerance:
        raise SignatureError(f"The delivery is too old: its {HEADER_TIMESTAMP} is more than {tolerance} s ago.")
    if signed.timestamp > now + tolerance:
        raise SignatureError(
            f"The delivery is from the future: its {HEADER_TIMESTAMP} is more than {tolerance} s ahead."
        )


NO_MATCH = "No signature of the delivery matches this tenant's commerce event secret."


def signature_check(signed: SignedHeaders, body: bytes, secrets_valid: Iterable[str]) -> None:
    """Accepts the delivery when any of its v1 signatures was made with any of the valid secrets. Every
    comparison is constant-time, and every pair is compared (no early exit that would time which one matched)."""
    matched = False
    for secret in secrets_valid:
        expected = signature(secret, signed.webhook_id, signed.timestamp, body).partition(",")[2].encode()
        for mac in signed.signatures:
            matched |= hmac.compare_digest(expected, mac.encode())
    if not matched:
        raise SignatureError(NO_MATCH)

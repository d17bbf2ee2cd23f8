"""How API client secrets are stored: a keyed fast hash, not a password hash.

A client secret is 128 random characters, so it cannot be guessed and needs no slow hashing; a slow hash (PBKDF2 with
a million iterations) only let anyone burn 0.6 s of CPU per wrong guess. HMAC-SHA256 keyed with a server-side pepper
(`API_CLIENT_SECRET_PEPPER`, never in the database) means a stolen database alone does not even let an attacker test
candidate secrets offline.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher
from django.utils.crypto import constant_time_compare


class ClientSecretHasher(BasePasswordHasher):
    """`client_hmac_sha256$<salt>$<hex>`: HMAC-SHA256 over salt and secret, keyed with the pepper."""

    algorithm = "client_hmac_sha256"

    def salt(self) -> str:
        return secrets.token_hex(8)

    def encode(self, password: str, salt: str) -> str:
        assert salt and "$" not in salt
        return f"{self.algorithm}${salt}${_digest(password, salt)}"

    def decode(self, encoded: str) -> dict[str, Any]:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        decoded = self.decode(encoded)
        return constant_time_compare(_digest(password, decoded["salt"]), decoded["hash"])

    def must_update(self, encoded: str) -> bool:
        return False

    def harden_runtime(self, password: str, encoded: str) -> None:
        # Every verification costs the same single HMAC: nothing to pad.
        return None


def _digest(secret: str, salt: str) -> str:
    key = settings.API_CLIENT_SECRET_PEPPER.encode()
    # Form fields can carry lone surrogates; they must hash (and fail to match), not raise.
    message = f"{salt}${secret}".encode("utf-8", "surrogatepass")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# Verified against when no client matches, so that an unknown client id costs what a wrong secret costs.
_DUMMY_SALT = "0" * 16


def dummy_verify(secret: str) -> None:
    ClientSecretHasher().verify(secret, f"{ClientSecretHasher.algorithm}${_DUMMY_SALT}${'0' * 64}")

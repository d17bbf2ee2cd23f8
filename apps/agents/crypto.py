"""Token values at rest: Fernet (AES-128-CBC with HMAC-SHA256) from `cryptography`, with key rotation."""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@cache
def _fernet() -> MultiFernet:
    # Never derived from the secret key: the settings refuse to start without explicit keys.
    keys = list(settings.TOKEN_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS is not set.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes each)."
        ) from None


def encrypt_value(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt_value(encrypted: str) -> str | None:
    """The plain value, or None when no configured key opens it (the key was changed)."""
    try:
        return _fernet().decrypt(encrypted.encode()).decode()
    except InvalidToken:
        return None


def reencrypt_value(encrypted: str) -> str | None:
    """The value encrypted again with the first key, or None when no configured key opens it."""
    try:
        return _fernet().rotate(encrypted.encode()).decode()
    except InvalidToken:
        return None

"""The installation's four keys: what a good one is, how to make one, and the local ones `make run` keeps.

- DJANGO_SECRET_KEY signs sessions, CSRF tokens and password-reset links;
- EXPORT_SIGNING_KEY is the HMAC key of export checksums (installations that exchange bundles share it);
- TOKEN_ENCRYPTION_KEYS are Fernet keys, comma-separated, for token values at rest: the first encrypts, all decrypt;
- API_CLIENT_SECRET_PEPPER is the HMAC key under which API client secrets are stored.

None is ever derived from another, so a leaked or published one gives nothing else away. This module imports no
Django settings: `python -m config.keys local` runs before any exist.

    python -m config.keys new               # a fresh set for production, as NAME=value lines
    python -m config.keys local             # create var/local.env once (make run does it)
    python -m config.keys legacy-token-key  # the Fernet key older versions derived from DJANGO_SECRET_KEY
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import os
import secrets
import sys
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

SECRET_KEY = "DJANGO_SECRET_KEY"
EXPORT_SIGNING_KEY = "EXPORT_SIGNING_KEY"
TOKEN_ENCRYPTION_KEYS = "TOKEN_ENCRYPTION_KEYS"
API_CLIENT_SECRET_PEPPER = "API_CLIENT_SECRET_PEPPER"

_TOKEN_COMMAND = 'python3 -c "import secrets; print(secrets.token_urlsafe({}))"'
FERNET_COMMAND = 'python3 -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'

# Placeholders that appear in documentation, examples and compose files (ours and Django's): a key containing one was
# copied, not made.
WELL_KNOWN_FRAGMENTS = (
    "django-insecure",
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "replace_me",
    "your-secret",
    "your_secret",
    "secret-key",
    "secret_key",
    "settings-test-key",
    "insecure",
    "example",
    "password",
    "not-a-secret",
    "dummy",
)
MIN_DISTINCT_CHARACTERS = 10


@dataclass(frozen=True)
class KeySpec:
    name: str
    min_length: int
    make: Callable[[], str]
    command: str


def make_secret_key() -> str:
    return secrets.token_urlsafe(64)


def make_hmac_key() -> str:
    return secrets.token_urlsafe(48)


def make_fernet_key() -> str:
    # What cryptography's Fernet.generate_key() returns, without importing it here.
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


SPECS = (
    KeySpec(SECRET_KEY, 50, make_secret_key, _TOKEN_COMMAND.format(64)),
    KeySpec(EXPORT_SIGNING_KEY, 32, make_hmac_key, _TOKEN_COMMAND.format(48)),
    KeySpec(TOKEN_ENCRYPTION_KEYS, 44, make_fernet_key, FERNET_COMMAND),
    KeySpec(API_CLIENT_SECRET_PEPPER, 32, make_hmac_key, _TOKEN_COMMAND.format(48)),
)


def problems(environ: Mapping[str, str], *, production: bool) -> list[str]:
    """One message per missing or unusable key, each naming the variable and a command that makes a good value.

    In production (DEBUG off) weak values are refused too; in development only a missing key or a Fernet key that
    cannot work is.
    """
    found: list[str] = []
    for spec in SPECS:
        raw = environ.get(spec.name, "").strip()
        problem = _problem(spec, raw, production=production)
        if problem:
            found.append(f"{spec.name} {problem}. Make one with: {spec.command}")
    if found:
        found.append(
            "In production set them in the environment (`python -m config.keys new` prints a fresh set); "
            "a local console keeps generated ones in var/local.env (`python -m config.keys local`, run by make run)."
        )
    return found


def _problem(spec: KeySpec, raw: str, *, production: bool) -> str | None:
    if not raw:
        return "is not set"
    if spec.name == TOKEN_ENCRYPTION_KEYS:
        return _fernet_keys_problem(raw, production=production)
    return weakness(raw, min_length=spec.min_length) if production else None


def weakness(value: str, *, min_length: int) -> str | None:
    """Why `value` cannot be a production key, or None when it looks like one made by a random generator."""
    if len(value) < min_length:
        return f"is too short ({len(value)} characters, at least {min_length} needed)"
    lowered = value.lower()
    if any(fragment in lowered for fragment in WELL_KNOWN_FRAGMENTS):
        return "is a well-known placeholder, not a secret"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS or _repetitive(value):
        return "has too little randomness (few distinct characters or a repeated pattern)"
    return None


def _repetitive(value: str) -> bool:
    # A random string does not compress; a repeated pattern ("abcd" * 20) compresses to a fraction of itself.
    return len(zlib.compress(value.encode(), 9)) < len(value) * 0.6


def _fernet_keys_problem(raw: str, *, production: bool) -> str | None:
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            decoded = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            decoded = b""
        if len(decoded) != 32:
            return f"entry {position} is not a Fernet key (32 url-safe base64-encoded bytes)"
        if production and len(set(decoded)) < 16:
            return f"entry {position} has too little randomness"
    return None


def legacy_token_key(secret_key: str) -> str:
    """The Fernet key that versions before explicit keys derived from the secret key, to keep reading old values."""
    digest = hashlib.sha256(f"token-encryption:{secret_key}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def fresh_keys() -> dict[str, str]:
    return {spec.name: spec.make() for spec in SPECS}


def ensure_local_keys(path: Path) -> list[str]:
    """Create the local keys file, or add the keys it lacks; the names added (none when it was complete).

    A console that ran before keys were explicit kept a random secret key in var/secret_key: it is kept (sessions
    survive), and the Fernet key derived from it stays as a second decryption key, so stored token values remain
    readable.
    """
    from dotenv import dotenv_values

    existing = {name: value for name, value in dotenv_values(path).items() if value} if path.exists() else {}
    added = {spec.name: spec.make() for spec in SPECS if spec.name not in existing}
    legacy = path.parent / "secret_key"
    if SECRET_KEY in added and legacy.exists():
        old = legacy.read_text().strip()
        if weakness(old, min_length=50) is None:
            added[SECRET_KEY] = old
            if TOKEN_ENCRYPTION_KEYS in added:
                added[TOKEN_ENCRYPTION_KEYS] = f"{added[TOKEN_ENCRYPTION_KEYS]},{legacy_token_key(old)}"
    if added:
        _write_private(path, {**existing, **added})
    path.chmod(0o600)
    return list(added)


def _write_private(path: Path, values: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Keys of this local console, made by `python -m config.keys local`. Never use them in production.",
        *(f"{name}={value}" for name, value in values.items()),
    ]
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    # Created readable by the owner only, before a single key is written into it.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    from config.env import load_env, local_keys_file

    parser = argparse.ArgumentParser(prog="python -m config.keys", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("new", help="print a fresh set of keys for production, as NAME=value lines")
    commands.add_parser("local", help="create the local keys file under var/ once (make run does it)")
    commands.add_parser(
        "legacy-token-key", help="print the Fernet key derived from DJANGO_SECRET_KEY by versions before explicit keys"
    )
    command = parser.parse_args(argv).command
    if command == "new":
        for name, value in fresh_keys().items():
            print(f"{name}={value}")
        return 0
    load_env()
    if command == "local":
        path = local_keys_file()
        added = ensure_local_keys(path)
        if added:
            print(f"Local keys ({', '.join(added)}) written to {path}, readable only by you.")
        return 0
    secret_key = os.environ.get(SECRET_KEY, "").strip()
    if not secret_key:
        print(f"Set {SECRET_KEY} to the secret key the old values were stored under.", file=sys.stderr)
        return 2
    print(legacy_token_key(secret_key))
    return 0


if __name__ == "__main__":
    sys.exit(main())

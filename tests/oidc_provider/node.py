"""Node.js and npm, which run the suite's OpenID provider: the version checked, `npm ci` when the lock changed,
and a free port for it."""

from __future__ import annotations

import fcntl
import hashlib
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.oidc_provider.errors import OidcProviderError

OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"
LOCK_FILE = OIDC_DIR / "package-lock.json"
STAMP_FILE = OIDC_DIR / "node_modules" / ".package-lock.sha256"
MIN_NODE = (20, 19)


def _lock_hash() -> str:
    return hashlib.sha256(LOCK_FILE.read_bytes() + (OIDC_DIR / "package.json").read_bytes()).hexdigest()


def node_executable() -> str:
    """The path of `node`, checked to be recent enough; OidcProviderError with what to do if not."""
    node = shutil.which("node")
    if not node:
        raise OidcProviderError(
            "Node.js is required by the OpenID provider tests (tests/oidc) but `node` is not on PATH: install "
            f"Node.js {MIN_NODE[0]}.{MIN_NODE[1]} or newer with npm"
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    match = re.match(r"v(\d+)\.(\d+)", version)
    if not match or (int(match[1]), int(match[2])) < MIN_NODE:
        raise OidcProviderError(
            f"Node.js {MIN_NODE[0]}.{MIN_NODE[1]} or newer is required by oidc-provider; `node --version` says "
            f"{version or 'nothing'}"
        )
    return node


def ensure_node_modules() -> None:
    """`npm ci` in tests/oidc unless node_modules was installed from the current package-lock.json."""
    npm = shutil.which("npm")
    if not npm:
        raise OidcProviderError(
            "npm is required by the OpenID provider tests (tests/oidc: `npm ci` installs oidc-provider) but `npm` "
            "is not on PATH: install npm with Node.js"
        )
    wanted = _lock_hash()
    lock_path = Path(tempfile.gettempdir()) / f"oidc-npm-ci-{hashlib.sha256(bytes(OIDC_DIR)).hexdigest()[:12]}.lock"
    with open(lock_path, "w") as lock:  # one `npm ci` at a time, should several pytest processes start together
        fcntl.flock(lock, fcntl.LOCK_EX)
        if STAMP_FILE.exists() and STAMP_FILE.read_text().strip() == wanted:
            return
        command = [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"]
        try:
            done = subprocess.run(command, cwd=OIDC_DIR, capture_output=True, text=True, timeout=300, check=False)
        except subprocess.TimeoutExpired as error:
            raise OidcProviderError(f"`npm ci` in {OIDC_DIR} took more than 300 s") from error
        if done.returncode != 0:
            raise OidcProviderError(
                f"`npm ci` in {OIDC_DIR} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}"
            )
        STAMP_FILE.write_text(wanted + "\n")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

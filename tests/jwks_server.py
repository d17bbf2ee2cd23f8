"""A stand-in OpenID provider for API-token tests: a real HTTP server on 127.0.0.1 that serves a discovery document
and a key set (JWKS), counts what it is asked, and mints tokens with its RSA keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks"
AUDIENCE = "ai-service-api"


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def generate(cls, kid: str, *, bits: int = 2048) -> SigningKey:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=bits))

    def public_jwk(self, **extra: str) -> dict[str, Any]:
        jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", **extra}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class JwksServer:
    """`issuer` is the server's base URL. Set `keys` to change what /jwks publishes (rotation); `fail_with` makes
    both paths answer with that HTTP status, `delay_seconds` makes them slow; `hits` counts requests per path."""

    def __init__(self) -> None:
        self.keys: list[SigningKey] = [SigningKey.generate("key-1")]
        self.hits: Counter[str] = Counter()
        self.fail_with: int | None = None
        self.discovery_issuer: str | None = None  # None: the server's own issuer URL
        self.extra_jwks: list[dict[str, Any]] = []  # published after the keys' own JWKs
        self.delay_seconds = 0.0  # a slow provider: every answer waits this long
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        # A short poll interval: stopping waits for the serving loop to look up (0.5 s by default).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="jwks-server", daemon=True
        )

    def start(self) -> JwksServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and closes the port: connections are then refused."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    @property
    def key(self) -> SigningKey:
        return self.keys[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits[self.path] += 1
                time.sleep(server.delay_seconds)
                if server.fail_with is not None:
                    self._send(server.fail_with, {"error": "unavailable"})
                elif self.path == DISCOVERY_PATH:
                    issuer = server.discovery_issuer or server.issuer
                    self._send(200, {"issuer": issuer, "jwks_uri": server.issuer + JWKS_PATH})
                elif self.path == JWKS_PATH:
                    self._send(200, {"keys": [key.public_jwk() for key in server.keys] + server.extra_jwks})
                else:
                    self._send(404, {"error": "not found"})

            def _send(self, status: int, body: Any) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # the base class's signature
                pass

        return Handler

    # --- tokens --------------------------------------------------------------------------------------------------

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Claims of a good token for tenant acme with both scopes; an override of None leaves the claim out."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "machine-client",
            "client_id": "machine-client",
            "iat": now,
            "exp": now + 300,
            "scope": "ai.agent_read ai.agent_manage",
            "tenant": "acme",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def mint(
        self,
        claims: dict[str, Any] | None = None,
        *,
        key: SigningKey | None = None,
        algorithm: str = "RS256",
        headers: dict[str, Any] | None = None,
    ) -> str:
        """A token with `claims` (default: a good token's), signed with `key` (default: the first published key)
        and naming its kid."""
        key = key or self.key
        claims = claims if claims is not None else self.claims()
        return jwt.encode(claims, key.private_key, algorithm, {"kid": key.kid, **(headers or {})})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], *, hmac_secret: bytes | None = None) -> str:
    """A token PyJWT would refuse to make: `alg: none` with an empty signature, or HS256 with any secret (such as
    the provider's public key, for the key-confusion attack)."""
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    signature = b"" if hmac_secret is None else hmac.new(hmac_secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)

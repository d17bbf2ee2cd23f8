"""A real OpenID provider for the test suite: panva's `oidc-provider` (npm, pinned in tests/oidc/package-lock.json)
run by Node.js on 127.0.0.1. This package holds its default configuration (`config.py`), Node.js and npm
(`node.py`), HTTP without a browser (`user_agent.py`) and its errors (`errors.py`); here are the running provider
and its fixture.

    def test_something(oidc_provider):
        token = oidc_provider.client_credentials_token("acme-machine")          # an RS256 JWT for the API
        back = oidc_provider.sign_in(authorize_url, "manager", PASSWORDS["manager"])  # the code flow, no browser

The session-scoped `oidc_provider` fixture runs the default configuration (`default_config()`): the console
client, one machine client per demo tenant, and the personas platform admin, manager, viewer and outsider. A test
that needs another configuration starts its own provider with `start_oidc_provider(config)`.

Node.js and npm are required: without them the fixture fails (it never skips). `npm ci` runs in tests/oidc when
node_modules is missing or was installed from another package-lock.json.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.oidc_provider.config import (
    API_AUDIENCE,
    API_RESOURCE,
    API_SCOPES,
    CONSOLE_CLIENT_ID,
    CONSOLE_CLIENT_SECRET,
    CONSOLE_POST_LOGOUT_REDIRECT_URIS,
    CONSOLE_REDIRECT_URIS,
    EXECUTE,
    MANAGE,
    PASSWORDS,
    READ,
    ROLES_CLAIM,
    TENANTS,
    default_config,
)
from tests.oidc_provider.errors import LoginRefused, OidcProviderError, TokenError
from tests.oidc_provider.node import OIDC_DIR, ensure_node_modules, free_port, node_executable
from tests.oidc_provider.user_agent import Form, Response, UserAgent, html_forms, pkce_pair

__all__ = [
    "API_AUDIENCE",
    "API_RESOURCE",
    "API_SCOPES",
    "CONSOLE_CLIENT_ID",
    "CONSOLE_CLIENT_SECRET",
    "CONSOLE_POST_LOGOUT_REDIRECT_URIS",
    "CONSOLE_REDIRECT_URIS",
    "EXECUTE",
    "MANAGE",
    "PASSWORDS",
    "READ",
    "ROLES_CLAIM",
    "TENANTS",
    "Form",
    "LoginRefused",
    "OidcProvider",
    "OidcProviderError",
    "Response",
    "TokenError",
    "UserAgent",
    "default_config",
    "ensure_node_modules",
    "free_port",
    "html_forms",
    "node_executable",
    "oidc_provider",
    "pkce_pair",
    "start_oidc_provider",
]


# --- the provider -------------------------------------------------------------------------------------------------


class OidcProvider:
    """A running provider: its endpoints, its configuration, and helpers to get tokens from it."""

    def __init__(self, config: Mapping[str, Any] | None = None, *, startup_timeout: float = 20) -> None:
        self.config: dict[str, Any] = copy.deepcopy(dict(config if config is not None else default_config()))
        self.port = int(self.config.setdefault("port", free_port()))
        self.config.setdefault("host", "127.0.0.1")
        self.issuer: str = self.config.setdefault("issuer", f"http://{self.config['host']}:{self.port}")
        self.config.setdefault("parent_pid", os.getpid())
        self.clients: dict[str, dict[str, Any]] = {c["client_id"]: c for c in self.config.get("clients", [])}
        self.accounts: dict[str, dict[str, Any]] = {
            a.get("login", a["sub"]): a for a in self.config.get("accounts", [])
        }
        self.startup_timeout = startup_timeout
        self.discovery: dict[str, Any] = {}
        self.startup_seconds = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._folder = Path(tempfile.mkdtemp(prefix="oidc-provider-"))
        self.log_path = self._folder / "provider.log"

    # endpoints, from the discovery document
    @property
    def jwks_uri(self) -> str:
        return str(self.discovery["jwks_uri"])

    @property
    def token_endpoint(self) -> str:
        return str(self.discovery["token_endpoint"])

    @property
    def authorization_endpoint(self) -> str:
        return str(self.discovery["authorization_endpoint"])

    @property
    def end_session_endpoint(self) -> str:
        return str(self.discovery["end_session_endpoint"])

    @property
    def userinfo_endpoint(self) -> str:
        return str(self.discovery["userinfo_endpoint"])

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def console(self) -> dict[str, Any]:
        return self.clients[CONSOLE_CLIENT_ID]

    # life cycle
    def start(self) -> OidcProvider:
        node = node_executable()
        ensure_node_modules()
        started = time.monotonic()
        config_path = self._folder / "config.json"
        config_path.write_text(json.dumps(self.config))
        ready_path = self._folder / "stdout"
        with open(ready_path, "wb") as stdout, open(self.log_path, "wb") as stderr:
            process = self._process = subprocess.Popen(
                [node, "provider.mjs", "--config", str(config_path)],
                cwd=OIDC_DIR,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        deadline = started + self.startup_timeout
        while True:
            line = ready_path.read_text().strip()
            if line.startswith("READY "):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                why = f"exited ({process.returncode})" if process.poll() is not None else "was not ready in time"
                raise OidcProviderError(f"the OpenID provider {why}:\n{self.log()[-3000:]}")
            time.sleep(0.02)
        if line != f"READY {self.issuer}":
            self.stop()
            raise OidcProviderError(f"the provider announced {line!r}, not READY {self.issuer}")
        self.discovery = UserAgent().get(self.discovery_url).json()
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def log(self) -> str:
        """What the provider wrote to stderr: its warnings, refused logins, errors."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # keys and tokens
    def jwks(self) -> dict[str, Any]:
        return dict(UserAgent().get(self.jwks_uri).json())

    def token_request(self, form: Mapping[str, str], *, basic_auth: tuple[str, str] | None = None) -> dict[str, Any]:
        """POST to the token endpoint; the JSON answer, or TokenError."""
        headers = {"Accept": "application/json"}
        if basic_auth:
            pair = ":".join(urllib.parse.quote(part, safe="") for part in basic_auth)
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        answer = UserAgent().post(self.token_endpoint, form, headers=headers)
        body = answer.json() if answer.body else {}
        if answer.status != 200:
            raise TokenError(answer.status, body)
        return dict(body)

    def client_credentials_token(
        self,
        client_id: str,
        client_secret: str | None = None,
        scope: str | None = None,
        *,
        resource: str | None = API_RESOURCE,
    ) -> str:
        """An access token of a machine client: an RS256 JWT for the API (`aud` API_AUDIENCE). By default the
        secret is the configured one and the scope everything the client may have; `resource=None` leaves the
        resource indicator out (the provider then uses its default resource)."""
        client = self.clients.get(client_id, {})
        secret = client_secret if client_secret is not None else client.get("client_secret", "")
        form = {"grant_type": "client_credentials", "scope": scope if scope is not None else client.get("scope", "")}
        if resource is not None:
            form["resource"] = resource
        return str(self.token_request(form, basic_auth=(client_id, secret))["access_token"])

    # the authorization code flow, without a browser
    def authorize_url(
        self,
        *,
        client_id: str = CONSOLE_CLIENT_ID,
        redirect_uri: str = "http://127.0.0.1:8000/oidc/callback/",
        scope: str = "openid email profile",
        state: str = "state",
        nonce: str | None = "nonce",
        code_challenge: str | None = None,
        **extra: str,
    ) -> str:
        params = {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            **({"nonce": nonce} if nonce else {}),
            **({"code_challenge": code_challenge, "code_challenge_method": "S256"} if code_challenge else {}),
            **extra,
        }
        return f"{self.authorization_endpoint}?{urllib.parse.urlencode(params)}"

    def sign_in(
        self, authorize_url: str, login: str, password: str, *, agent: UserAgent | None = None, consent: bool = True
    ) -> str:
        """Follow an authorization request as a person would: the login form, the consent form if shown. Returns
        the URL the provider finally sends the browser to (the relying party's redirect URI with `code` and
        `state`, or with `error`). LoginRefused if the login form comes back."""
        agent = agent or UserAgent()
        answer = agent.get(authorize_url)
        posted_login = False
        for _ in range(12):
            if answer.status in (302, 303) and answer.location:
                if not answer.location.startswith(self.issuer + "/"):
                    return answer.location
                answer = agent.get(answer.location)
                continue
            forms = html_forms(answer.text)
            actions = {form.action.rsplit("/", 1)[-1]: form for form in forms if form.method == "post"}
            if "login" in actions:
                if posted_login:
                    raise LoginRefused(answer.status, answer.text)
                posted_login = True
                target = urllib.parse.urljoin(answer.url, actions["login"].action)
                answer = agent.post(target, {"login": login, "password": password})
            elif "confirm" in actions:
                target = urllib.parse.urljoin(answer.url, actions["confirm" if consent else "abort"].action)
                answer = agent.post(target, {})
            else:
                raise OidcProviderError(f"unexpected answer {answer.status} at {answer.url}:\n{answer.text[:2000]}")
        raise OidcProviderError("too many steps in the sign-in")

    def exchange_code(
        self, code: str, code_verifier: str, redirect_uri: str, *, client_id: str = CONSOLE_CLIENT_ID
    ) -> dict[str, Any]:
        """The relying party's token request (client_secret_post, as the console client is registered)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": code_verifier,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": self.clients[client_id]["client_secret"],
        }
        return self.token_request(form)

    def sign_out(self, agent: UserAgent, *, id_token_hint: str, post_logout_redirect_uri: str, state: str = "") -> str:
        """RP-initiated logout as a browser without JavaScript does it: the end-session page, then its form with
        logout=yes. Returns where the provider sends the browser."""
        params = {"id_token_hint": id_token_hint, "post_logout_redirect_uri": post_logout_redirect_uri}
        if state:
            params["state"] = state
        page = agent.get(f"{self.end_session_endpoint}?{urllib.parse.urlencode(params)}")
        if page.status != 200:
            raise OidcProviderError(f"end-session answered {page.status}: {page.text[:2000]}")
        form = next(form for form in html_forms(page.text) if form.method == "post")
        answer = agent.post(urllib.parse.urljoin(page.url, form.action), {**form.fields, "logout": "yes"})
        if answer.status not in (302, 303) or not answer.location:
            raise OidcProviderError(f"end-session confirmation answered {answer.status}: {answer.text[:2000]}")
        return answer.location


@contextmanager
def start_oidc_provider(config: Mapping[str, Any] | None = None) -> Iterator[OidcProvider]:
    """A provider of its own for one test or fixture; OidcProviderError if Node.js, npm or the start fail."""
    with OidcProvider(config) as provider:
        yield provider


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """The suite's OpenID provider with `default_config()`, started once. Fails (never skips) without Node.js."""
    provider = OidcProvider(default_config())
    try:
        provider.start()
    except OidcProviderError as error:
        provider.cleanup()
        pytest.fail(str(error), pytrace=False)
    try:
        yield provider
    finally:
        provider.cleanup()

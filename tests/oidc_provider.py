"""A real OpenID provider for the test suite: panva's `oidc-provider` (npm, pinned in tests/oidc/package-lock.json)
run by Node.js on 127.0.0.1, configured here.

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
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
LOCK_FILE = OIDC_DIR / "package-lock.json"
STAMP_FILE = OIDC_DIR / "node_modules" / ".package-lock.sha256"
MIN_NODE = (20, 19)

# What the API is to the provider: a resource server whose tokens are RS256 JWTs with this audience.
API_RESOURCE = "urn:ai-service-api"
API_AUDIENCE = "ai-service-api"
READ, MANAGE, EXECUTE = "ai.agent_read", "ai.agent_manage", "ai.agentexecution_manage"
API_SCOPES = (READ, MANAGE, EXECUTE)
TENANTS = ("acme", "globex")

# The console's client: confidential, authorization code with PKCE (S256), RS256 ID tokens. Its secret goes in the
# token request's body, as mozilla-django-oidc sends it by default (OIDC_TOKEN_USE_BASIC_AUTH=False).
CONSOLE_CLIENT_ID = "console"
CONSOLE_CLIENT_SECRET = "console-secret-for-tests"
# Registered without a port: any port of 127.0.0.1 / localhost matches (the live server's port is only known later).
CONSOLE_REDIRECT_URIS = ("http://127.0.0.1/oidc/callback/", "http://localhost/oidc/callback/")
CONSOLE_POST_LOGOUT_REDIRECT_URIS = ("http://127.0.0.1/", "http://localhost/")

# The claim that carries console roles (config/settings/base.py: OIDC_ROLES_CLAIM's default).
ROLES_CLAIM = "ai_console_roles"
PASSWORDS = {
    "admin": "admin-password-for-tests",
    "manager": "manager-password-for-tests",
    "viewer": "viewer-password-for-tests",
    "outsider": "outsider-password-for-tests",
}


def default_config() -> dict[str, Any]:
    """The provider's configuration, as tests/oidc/provider.mjs reads it (its header describes every key).

    Clients are oidc-provider client metadata; machine clients may add `tenant` (a `tenant` claim in their access
    tokens) and `extra_token_claims` (any other claims). Accounts are {sub, login, password, claims}: every claim
    beyond the standard email and profile ones is released with the `openid` scope, into the ID token and userinfo.
    """
    machine = {"grant_types": ["client_credentials"], "response_types": [], "redirect_uris": []}
    return {
        "resources": [
            {
                "identifier": API_RESOURCE,
                "audience": API_AUDIENCE,
                "scopes": [*API_SCOPES, *(f"tenant={name}" for name in TENANTS)],
                "access_token_ttl": 600,
            }
        ],
        "default_resource": API_RESOURCE,
        "clients": [
            {
                "client_id": CONSOLE_CLIENT_ID,
                "client_secret": CONSOLE_CLIENT_SECRET,
                "client_name": "AI Service Console",
                "redirect_uris": list(CONSOLE_REDIRECT_URIS),
                "post_logout_redirect_uris": list(CONSOLE_POST_LOGOUT_REDIRECT_URIS),
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_post",
                "id_token_signed_response_alg": "RS256",
            },
            {
                **machine,
                "client_id": "acme-machine",
                "client_secret": "acme-machine-secret",
                "scope": f"{READ} {MANAGE} {EXECUTE}",
                "tenant": "acme",
            },
            {
                **machine,
                "client_id": "acme-reader",
                "client_secret": "acme-reader-secret",
                "scope": READ,
                "tenant": "acme",
            },
            {
                **machine,
                "client_id": "globex-machine",
                "client_secret": "globex-machine-secret",
                "scope": f"{READ} {MANAGE} {EXECUTE}",
                "tenant": "globex",
            },
            {
                # No tenant claim: the tenant travels as a `tenant=<name>` scope instead.
                **machine,
                "client_id": "globex-by-scope",
                "client_secret": "globex-by-scope-secret",
                "scope": f"{READ} tenant=globex",
            },
        ],
        "accounts": [
            _account("admin", "Ada Admin", ["platform_admin"]),
            _account("manager", "Max Manager", ["acme:manager"]),
            _account("viewer", "Vera Viewer", ["acme:viewer"]),
            _account("outsider", "Otto Outsider", ["globex:manager"]),
        ],
    }


def _account(login: str, name: str, roles: list[str]) -> dict[str, Any]:
    return {
        "sub": f"{login}-sub",
        "login": login,
        "password": PASSWORDS[login],
        "claims": {
            "email": f"{login}@example.com",
            "email_verified": True,
            "name": name,
            "preferred_username": login,
            ROLES_CLAIM: roles,
        },
    }


# --- errors -------------------------------------------------------------------------------------------------------


class OidcProviderError(RuntimeError):
    """The provider could not be installed, started, or answered something unexpected."""


class TokenError(Exception):
    """The token endpoint refused a request."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body.get('error')}: {body.get('error_description', '')}")
        self.status = status
        self.body = body
        self.error = body.get("error")


class LoginRefused(Exception):
    """The provider's login form came back instead of the relying party: wrong login or password."""

    def __init__(self, status: int, page: str) -> None:
        super().__init__(f"login refused ({status})")
        self.status = status
        self.page = page


# --- Node.js and npm ----------------------------------------------------------------------------------------------


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


# --- HTTP without a browser ---------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: Message[str, str]
    body: bytes
    url: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def location(self) -> str | None:
        value = self.headers.get("Location")
        return urllib.parse.urljoin(self.url, value) if value else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UserAgent:
    """A cookie-keeping HTTP client that does not follow redirects and ignores proxy settings (127.0.0.1 only)."""

    def __init__(self) -> None:
        self.cookies = CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10,
    ) -> Response:
        if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise ValueError(f"only the local provider is reached from tests: {url}")
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        # S310: only http://127.0.0.1 / http://localhost, checked above.
        request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))  # noqa: S310
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self._opener.open(request, timeout=timeout) as answer:
                return Response(answer.status, answer.headers, answer.read(), url)
        except urllib.error.HTTPError as answer:
            with answer:
                return Response(answer.code, answer.headers, answer.read(), url)

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, form: Mapping[str, str], **kwargs: Any) -> Response:
        return self.request("POST", url, form=form, **kwargs)


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.by_id: dict[str, Form] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            form = Form(attributes.get("action", ""), attributes.get("method", "get").lower())
            self.forms.append(form)
            if "id" in attributes:
                self.by_id[attributes["id"]] = form
        elif tag == "input" and self.forms and attributes.get("type") == "hidden" and "name" in attributes:
            self.forms[-1].fields[attributes["name"]] = attributes.get("value", "")


def html_forms(page: str) -> list[Form]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


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

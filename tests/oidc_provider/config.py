"""The suite's OpenID provider's default configuration: the API as a resource, the console's client, one machine
client per demo tenant, and the personas with their passwords and console roles."""

from __future__ import annotations

from typing import Any

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

"""The test suite's OpenID provider (tests/oidc_provider/, panva's oidc-provider on Node.js) does what the console
and the API will rely on: discovery, RS256 keys, client-credentials JWTs for the API, the authorization code flow
with PKCE, refused passwords and RP-initiated logout — all over real HTTP on 127.0.0.1, without a browser."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import jwt
import pytest

from tests.oidc_provider import (
    API_AUDIENCE,
    API_RESOURCE,
    CONSOLE_CLIENT_ID,
    EXECUTE,
    MANAGE,
    PASSWORDS,
    READ,
    ROLES_CLAIM,
    LoginRefused,
    OidcProvider,
    OidcProviderError,
    TokenError,
    UserAgent,
    default_config,
    ensure_node_modules,
    node_executable,
    pkce_pair,
    start_oidc_provider,
)

# Any port: the console client is registered for http://localhost/... and http://127.0.0.1/... on every port.
CALLBACK = "http://localhost:48123/oidc/callback/"
HOME = "http://localhost:48123/"


def verify(provider: OidcProvider, token: str, audience: str) -> dict[str, Any]:
    """What a relying party does: the key named by `kid` in the provider's JWKS, RS256 only, iss/aud/exp checked."""
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKSet.from_dict(provider.jwks())[header["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token,
        key=key,
        algorithms=["RS256"],
        audience=audience,
        issuer=provider.issuer,
        options={"require": ["iss", "aud", "exp", "iat", "sub"]},
    )
    return claims


def query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def sign_in(provider: OidcProvider, login: str, agent: UserAgent | None = None) -> tuple[dict[str, Any], str]:
    """The console's sign-in, step by step: (the token response, the code verifier)."""
    verifier, challenge = pkce_pair()
    url = provider.authorize_url(redirect_uri=CALLBACK, state="st-1", nonce="n-1", code_challenge=challenge)
    back = provider.sign_in(url, login, PASSWORDS[login], agent=agent)
    assert back.startswith(CALLBACK + "?")
    params = query(back)
    assert params["state"] == "st-1"
    assert params["iss"] == provider.issuer
    return provider.exchange_code(params["code"], verifier, CALLBACK), verifier


def test_discovery_names_the_issuer_its_endpoints_and_rs256(oidc_provider: OidcProvider) -> None:
    doc = oidc_provider.discovery
    assert doc["issuer"] == oidc_provider.issuer == f"http://127.0.0.1:{oidc_provider.port}"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "client_credentials" in doc["grant_types_supported"]
    assert "code" in doc["response_types_supported"]
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert doc[endpoint].startswith(oidc_provider.issuer + "/")
    assert oidc_provider.end_session_endpoint == f"{oidc_provider.issuer}/session/end"
    assert ROLES_CLAIM in doc["claims_supported"]
    keys = oidc_provider.jwks()["keys"]
    assert [(key["kty"], key["alg"], key["use"]) for key in keys] == [("RSA", "RS256", "sig")]
    assert keys[0]["kid"] and "d" not in keys[0]  # public parts only


def test_client_credentials_token_is_an_rs256_jwt_for_the_api(oidc_provider: OidcProvider) -> None:
    before = int(time.time())
    token = oidc_provider.client_credentials_token("acme-machine", scope=f"{READ} {MANAGE}")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = verify(oidc_provider, token, API_AUDIENCE)
    assert claims["iss"] == oidc_provider.issuer
    assert claims["aud"] == API_AUDIENCE
    assert claims["sub"] == claims["client_id"] == "acme-machine"
    assert claims["scope"].split() == [READ, MANAGE]
    assert claims["tenant"] == "acme"
    assert before - 5 <= claims["iat"] <= claims["exp"] - 600 + 5
    # Another tenant's machine, and the whole scope of the client when none is asked for.
    claims = verify(oidc_provider, oidc_provider.client_credentials_token("globex-machine"), API_AUDIENCE)
    assert claims["tenant"] == "globex"
    assert set(claims["scope"].split()) == {READ, MANAGE, EXECUTE}
    # Without a resource indicator the provider's default resource (the API) applies.
    claims = verify(oidc_provider, oidc_provider.client_credentials_token("acme-reader", resource=None), API_AUDIENCE)
    assert claims["scope"] == READ


def test_tenant_may_travel_as_a_scope(oidc_provider: OidcProvider) -> None:
    claims = verify(oidc_provider, oidc_provider.client_credentials_token("globex-by-scope"), API_AUDIENCE)
    assert claims["scope"].split() == [READ, "tenant=globex"]
    assert "tenant" not in claims


def test_client_credentials_refusals(oidc_provider: OidcProvider) -> None:
    with pytest.raises(TokenError) as refused:
        oidc_provider.client_credentials_token("acme-reader", scope=f"{READ} {MANAGE}")
    assert refused.value.error == "invalid_scope"
    with pytest.raises(TokenError) as refused:
        oidc_provider.client_credentials_token("acme-machine", "wrong-secret")
    assert (refused.value.status, refused.value.error) == (401, "invalid_client")
    with pytest.raises(TokenError) as refused:
        oidc_provider.client_credentials_token("acme-machine", resource="urn:somewhere-else")
    assert refused.value.error == "invalid_target"
    with pytest.raises(TokenError) as refused:  # the console's client may not use this grant
        oidc_provider.token_request(
            {
                "grant_type": "client_credentials",
                "client_id": CONSOLE_CLIENT_ID,
                "client_secret": oidc_provider.console["client_secret"],
                "resource": API_RESOURCE,
            }
        )
    assert refused.value.body["error_description"] == "requested grant type is not allowed for this client"


def test_authorization_code_flow_with_pkce_gives_an_rs256_id_token(oidc_provider: OidcProvider) -> None:
    tokens, _ = sign_in(oidc_provider, "manager")
    assert jwt.get_unverified_header(tokens["id_token"])["alg"] == "RS256"
    claims = verify(oidc_provider, tokens["id_token"], CONSOLE_CLIENT_ID)
    account = oidc_provider.accounts["manager"]
    assert claims["sub"] == account["sub"] == "manager-sub"
    assert claims["nonce"] == "n-1"
    assert claims["email"] == "manager@example.com"
    assert claims["name"] == "Max Manager"
    assert claims[ROLES_CLAIM] == ["acme:manager"]
    # The userinfo endpoint, which mozilla-django-oidc asks, has the same claims.
    answer = UserAgent().get(
        oidc_provider.userinfo_endpoint, headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert answer.status == 200
    assert answer.json()[ROLES_CLAIM] == ["acme:manager"]
    assert answer.json()["sub"] == "manager-sub"


def test_pkce_is_required_and_checked(oidc_provider: OidcProvider) -> None:
    no_challenge = oidc_provider.authorize_url(redirect_uri=CALLBACK)
    back = query(UserAgent().get(no_challenge).location or "")
    assert back["error"] == "invalid_request"
    assert "PKCE" in back["error_description"]

    _, challenge = pkce_pair()
    url = oidc_provider.authorize_url(redirect_uri=CALLBACK, code_challenge=challenge)
    code = query(oidc_provider.sign_in(url, "viewer", PASSWORDS["viewer"]))["code"]
    with pytest.raises(TokenError) as refused:
        oidc_provider.exchange_code(code, pkce_pair()[0], CALLBACK)
    assert refused.value.error == "invalid_grant"


def test_wrong_password_and_unknown_login_are_refused(oidc_provider: OidcProvider) -> None:
    _, challenge = pkce_pair()
    url = oidc_provider.authorize_url(redirect_uri=CALLBACK, code_challenge=challenge)
    for login, password in (("manager", "wrong"), ("nobody", "wrong"), ("manager", PASSWORDS["viewer"])):
        with pytest.raises(LoginRefused) as refused:
            oidc_provider.sign_in(url, login, password)
        assert refused.value.status == 401
        assert "Invalid login or password." in refused.value.page
    assert 'login refused for "nobody"' in oidc_provider.log()


def test_redirect_uri_must_be_registered(oidc_provider: OidcProvider) -> None:
    _, challenge = pkce_pair()
    url = oidc_provider.authorize_url(redirect_uri="http://localhost:48123/elsewhere/", code_challenge=challenge)
    answer = UserAgent().get(url)
    assert answer.status == 400  # an error page at the provider, never a redirect to an unknown address
    assert "redirect_uri" in answer.text


def test_single_sign_on_then_rp_initiated_logout(oidc_provider: OidcProvider) -> None:
    agent = UserAgent()
    tokens, _ = sign_in(oidc_provider, "admin", agent)
    _, challenge = pkce_pair()
    again = oidc_provider.authorize_url(redirect_uri=CALLBACK, code_challenge=challenge)
    # Signed in at the provider: a second authorization request comes straight back with a code.
    assert "code" in query(agent.get(again).location or "")

    back = oidc_provider.sign_out(agent, id_token_hint=tokens["id_token"], post_logout_redirect_uri=HOME, state="bye")
    assert back == f"{HOME}?state=bye"
    # Signed out: the next authorization request asks for the password again.
    answer = agent.get(agent.get(again).location or "")
    assert answer.status == 200
    assert 'name="password"' in answer.text


def test_own_configuration_claim_names_and_consent_page() -> None:
    config = default_config()
    config["accounts"] = [
        {"sub": "s-1", "login": "kim", "password": "pw-kim", "claims": {"email": "kim@example.com", "groups": ["g1"]}}
    ]
    config["auto_consent"] = False
    config["loopback_any_port"] = False
    with start_oidc_provider(config) as provider:
        verifier, challenge = pkce_pair()
        url = provider.authorize_url(redirect_uri=CALLBACK, code_challenge=challenge)
        answer = UserAgent().get(url)
        assert answer.status == 400  # exact redirect URIs now: localhost:48123 is not registered

        exact = "http://127.0.0.1/oidc/callback/"
        url = provider.authorize_url(redirect_uri=exact, code_challenge=challenge)
        assert query(provider.sign_in(url, "kim", "pw-kim", consent=False))["error"] == "access_denied"
        code = query(provider.sign_in(url, "kim", "pw-kim"))["code"]
        claims = verify(provider, provider.exchange_code(code, verifier, exact)["id_token"], CONSOLE_CLIENT_ID)
        assert (claims["sub"], claims["groups"], claims["email"]) == ("s-1", ["g1"], "kim@example.com")
        assert ROLES_CLAIM not in claims
        assert API_RESOURCE in {r["identifier"] for r in provider.config["resources"]}


def test_missing_node_or_npm_fails_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(OidcProviderError, match=r"Node\.js is required .* `node` is not on PATH"):
        node_executable()
    with pytest.raises(OidcProviderError, match=r"npm is required .* `npm` is not on PATH"):
        ensure_node_modules()

"""The console and the API against a real OpenID provider on 127.0.0.1 (tests/oidc_provider/): sign-in with the
authorization code flow and PKCE, roles from the provider's claims, logout at the provider, and API calls with the
provider's client-credentials JWTs."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from apps.accounts.provider_keys import ProviderKeys
from apps.tenants.models import Membership
from tests.oidc_provider import API_AUDIENCE, CONSOLE_CLIENT_ID, CONSOLE_CLIENT_SECRET, PASSWORDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def console_with_provider(settings: Any, oidc_provider: Any, tenant: Any, other_tenant: Any) -> Any:
    settings.OIDC_OP_ISSUER = oidc_provider.issuer
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CONSOLE_CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CONSOLE_CLIENT_SECRET
    settings.AUTHENTICATION_BACKENDS = ["apps.accounts.oidc.ConsoleOidcBackend"]
    ProviderKeys.forget_all()  # this provider's discovery document and keys, not cached ones
    yield oidc_provider
    ProviderKeys.forget_all()


def sign_in(provider: Any, login: str) -> tuple[Client, Any]:
    browser = Client(HTTP_HOST="127.0.0.1")
    start = browser.get("/oidc/authenticate/", {"next": "/console/"})
    sent_to, endpoint = urlsplit(start["Location"]), urlsplit(provider.authorization_endpoint)
    assert start.status_code == 302 and (sent_to.port, sent_to.path) == (endpoint.port, endpoint.path)
    query = parse_qs(sent_to.query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] and query["nonce"]
    back = urlsplit(provider.sign_in(start["Location"], login, PASSWORDS[login]))
    assert back.path == "/oidc/callback/", back
    return browser, browser.get(back.path, parse_qs(back.query))


def test_a_manager_signs_in_at_the_provider_and_manages_their_tenant(console_with_provider):
    browser, answer = sign_in(console_with_provider, "manager")

    assert answer.status_code == 302 and answer["Location"] == "/console/"
    user = answer.wsgi_request.user
    assert user.is_authenticated and user.username == "manager"
    assert list(Membership.objects.filter(user=user).values_list("tenant__name", "role")) == [("acme", "manager")]
    assert browser.get("/console/acme/jobs/").status_code == 200
    assert browser.get("/console/globex/jobs/").status_code == 404


def test_a_viewer_sees_but_cannot_act_and_an_outsider_does_not_see(console_with_provider, make_job):
    job = make_job(message="seen")
    viewer, _ = sign_in(console_with_provider, "viewer")
    assert viewer.get(f"/console/acme/jobs/{job.job_id}/").status_code == 200
    assert viewer.post(f"/console/acme/jobs/{job.job_id}/delete").status_code == 403

    outsider, _ = sign_in(console_with_provider, "outsider")
    assert outsider.get(f"/console/acme/jobs/{job.job_id}/").status_code == 404
    assert outsider.get("/console/globex/").status_code == 200


def test_the_platform_admin_of_the_provider_is_a_superuser(console_with_provider):
    browser, answer = sign_in(console_with_provider, "admin")
    assert answer.wsgi_request.user.is_superuser
    assert browser.get("/console/globex/").status_code == 200
    assert browser.get("/admin/").status_code == 200


def test_a_wrong_state_is_refused(console_with_provider):
    browser = Client(HTTP_HOST="127.0.0.1")
    start = browser.get("/oidc/authenticate/")
    back = urlsplit(console_with_provider.sign_in(start["Location"], "manager", PASSWORDS["manager"]))
    query = {**parse_qs(back.query), "state": ["forged"]}
    answer = browser.get(back.path, query)
    assert not answer.wsgi_request.user.is_authenticated


def test_signing_out_ends_the_session_at_the_provider_too(console_with_provider):
    browser, _ = sign_in(console_with_provider, "manager")
    answer = browser.post("/oidc/logout/")
    assert answer.status_code == 302
    assert answer["Location"].startswith(console_with_provider.end_session_endpoint)
    assert "id_token_hint=" in answer["Location"]
    assert browser.get("/console/").status_code == 302  # signed out: back to the sign-in page


@pytest.fixture
def api_with_provider(settings: Any, oidc_provider: Any) -> Any:
    settings.API_JWT_ISSUER = oidc_provider.issuer
    settings.API_JWT_AUDIENCE = API_AUDIENCE
    settings.API_JWT_JWKS_URL = oidc_provider.jwks_uri
    return oidc_provider


def test_a_machine_client_of_the_provider_calls_the_api_of_its_tenant(api_with_provider, api, make_job):
    make_job(message="visible")
    token = api_with_provider.client_credentials_token("acme-machine")
    answer = api.get("/ai-service/acme/jobs", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200 and [job["message"] for job in answer.body] == ["visible"]


def test_a_provider_token_is_held_to_its_tenant_and_scopes(api_with_provider, api, make_job, other_tenant):
    job = make_job()
    reader = api_with_provider.client_credentials_token("acme-reader")
    answer = api.delete(f"/ai-service/acme/jobs/{job.job_id}", HTTP_AUTHORIZATION=f"Bearer {reader}")
    assert answer.status_code == 403
    globex = api_with_provider.client_credentials_token("globex-machine")
    assert api.get("/ai-service/acme/jobs", HTTP_AUTHORIZATION=f"Bearer {globex}").status_code == 403
    by_scope = api_with_provider.client_credentials_token("globex-by-scope")
    assert api.get("/ai-service/globex/jobs", HTTP_AUTHORIZATION=f"Bearer {by_scope}").status_code == 200


def test_the_discovery_document_can_be_read_at_another_address(console_with_provider, settings):
    # As containers do when browsers reach the provider at one address and the console at another.
    # This provider names its endpoints after the address it is asked at: where the browser is sent shows which
    # discovery document the console read.
    settings.OIDC_DISCOVERY_URL = console_with_provider.discovery_url.replace("127.0.0.1", "localhost")
    start = Client(HTTP_HOST="127.0.0.1").get("/oidc/authenticate/")
    assert urlsplit(start["Location"]).hostname == "localhost"


def test_a_discovery_document_naming_another_issuer_is_refused(console_with_provider, settings):
    settings.OIDC_OP_ISSUER = console_with_provider.issuer.replace("127.0.0.1", "localhost")
    settings.OIDC_DISCOVERY_URL = console_with_provider.discovery_url
    with pytest.raises(ImproperlyConfigured, match="names the issuer"):
        Client(HTTP_HOST="127.0.0.1").get("/oidc/authenticate/")

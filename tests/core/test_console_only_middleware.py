"""Django's user and messages middleware, and the Content-Security-Policy, run on the console's paths only: an API
request, which carries a bearer token and keeps no session, skips their work. The session and CSRF middleware stay
as Django ships them (Django's deployment checks look for them by name); on the API's paths they do nothing that
shows: no cookie, no Vary."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from apps.core.middleware import ConsoleAuthenticationMiddleware, ConsoleMessageMiddleware
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.conftest import READ

# Each middleware, with what it leaves on a request it has run on.
MIDDLEWARE = [(ConsoleAuthenticationMiddleware, "user"), (ConsoleMessageMiddleware, "_messages")]


def _through(middleware: type, path: str) -> HttpRequest:
    request = RequestFactory().get(path)
    request.session = {}  # type: ignore[assignment]  # what the session middleware would have given it
    middleware(lambda r: HttpResponse("ok"))(request)
    return request


@pytest.mark.parametrize(("middleware", "attribute"), MIDDLEWARE, ids=["user", "messages"])
def test_an_api_request_skips_it_and_a_console_request_gets_it(middleware: type, attribute: str) -> None:
    assert not hasattr(_through(middleware, "/ai-service/acme/jobs"), attribute)
    assert not hasattr(_through(middleware, "/oauth/token"), attribute)
    assert hasattr(_through(middleware, "/console/"), attribute)


@pytest.mark.django_db
def test_an_api_answer_sets_no_cookie_and_does_not_vary_on_cookies(
    tenant: Tenant, make_token: Callable[..., str], make_job: Callable[..., Job]
) -> None:
    """Even for a caller that also holds a console session: the API never reads it."""
    job = make_job()
    client = Client()
    client.force_login(get_user_model().objects.create_user("ada", password="unused-here-0"))

    response = client.get(
        f"/ai-service/acme/jobs/{job.job_id}", headers={"Authorization": f"Bearer {make_token(tenant, READ)}"}
    )

    assert response.status_code == 200
    assert not response.cookies
    assert "Vary" not in response
    assert "Content-Security-Policy" not in response  # a policy for pages; the console's pages carry it
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not response.wsgi_request.session.accessed  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_the_console_still_signs_in_with_a_session_and_a_csrf_token() -> None:
    get_user_model().objects.create_user("ada", password="a-long-passphrase-1")
    client = Client(enforce_csrf_checks=True)

    form = client.get("/console/login/")
    token = form.cookies["csrftoken"].value
    refused = client.post("/console/login/", {"username": "ada", "password": "a-long-passphrase-1"})
    signed_in = client.post(
        "/console/login/", {"username": "ada", "password": "a-long-passphrase-1", "csrfmiddlewaretoken": token}
    )

    assert refused.status_code == 403
    assert signed_in.status_code == 302
    assert "sessionid" in signed_in.cookies

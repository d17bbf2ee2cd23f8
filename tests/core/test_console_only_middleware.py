"""Django's session, CSRF, user and messages middleware run on the console's paths only: an API request, which
carries a bearer token and keeps no session, skips their work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from apps.core.middleware import (
    ConsoleAuthenticationMiddleware,
    ConsoleCsrfViewMiddleware,
    ConsoleMessageMiddleware,
    ConsoleSessionMiddleware,
)
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.conftest import READ

# Each middleware, with what it leaves on a request it has run on.
MIDDLEWARE = [
    (ConsoleSessionMiddleware, "session"),
    (ConsoleAuthenticationMiddleware, "user"),
    (ConsoleMessageMiddleware, "_messages"),
    (ConsoleCsrfViewMiddleware, "META"),  # checked apart below: CSRF marks the request only when it checks it
]


def _through(middleware: type, path: str) -> HttpRequest:
    request = RequestFactory().get(path)
    if middleware is not ConsoleSessionMiddleware:
        request.session = {}  # type: ignore[assignment]  # what the session middleware would have given it
    middleware(lambda r: HttpResponse("ok"))(request)
    return request


@pytest.mark.parametrize(("middleware", "attribute"), MIDDLEWARE[:3], ids=["session", "user", "messages"])
def test_an_api_request_skips_it_and_a_console_request_gets_it(middleware: type, attribute: str) -> None:
    assert not hasattr(_through(middleware, "/ai-service/acme/jobs"), attribute)
    assert not hasattr(_through(middleware, "/oauth/token"), attribute)
    assert hasattr(_through(middleware, "/console/"), attribute)


def test_an_api_post_without_a_csrf_token_is_not_checked_and_a_console_post_is() -> None:
    def post(path: str) -> Any:
        request = RequestFactory().post(path)
        request.session = {}  # type: ignore[assignment]
        middleware = ConsoleCsrfViewMiddleware(lambda r: HttpResponse("ok"))
        return middleware.process_view(request, lambda r: HttpResponse("ok"), (), {})

    assert post("/ai-service/acme/jobs/search") is None
    assert post("/console/acme/jobs").status_code == 403


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
    assert not hasattr(response.wsgi_request, "session")


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

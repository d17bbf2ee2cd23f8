"""The console's middleware (content policy, static files, session, CSRF, user, messages, framing, sign-in lockouts)
runs on the console's paths only: an API request, which carries a bearer token and keeps no session, goes past it
(ApiLane to ApiLaneEnd). The middleware stays listed under its own names, as Django's deployment checks look for it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.base import BaseHandler
from django.test import Client, override_settings

from apps.core.middleware import ApiLane
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.conftest import READ

LANE, END = "apps.core.middleware.ApiLane", "apps.core.middleware.ApiLaneEnd"


def _between(middleware: list[str]) -> list[str]:
    return middleware[middleware.index(LANE) + 1 : middleware.index(END)]


def test_the_lane_goes_past_the_console_middleware_and_no_other():
    assert _between(settings.MIDDLEWARE) == [
        "csp.middleware.CSPMiddleware",
        "apps.accounts.middleware.ProviderFormAction",
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "axes.middleware.AxesMiddleware",
    ]
    # What the API needs runs on both lanes.
    after = settings.MIDDLEWARE[settings.MIDDLEWARE.index(END) + 1 :]
    assert {"apps.core.middleware.BodySizeLimit", "apps.core.middleware.ApiStatementBudget"} <= set(after)


def test_a_lane_without_its_end_is_refused_when_the_handler_is_built():
    without_end = [name for name in settings.MIDDLEWARE if name != END]
    with override_settings(MIDDLEWARE=without_end), pytest.raises(ImproperlyConfigured, match="ApiLaneEnd"):
        BaseHandler().load_middleware()


def test_each_handler_gets_its_own_lane():
    first, second = BaseHandler(), BaseHandler()
    first.load_middleware()
    second.load_middleware()

    lanes = [_lane(handler) for handler in (first, second)]

    assert lanes[0] is not lanes[1] and lanes[0].api_response is not lanes[1].api_response


def _lane(handler: BaseHandler) -> ApiLane:
    layer = handler._middleware_chain  # type: ignore[attr-defined]  # Django's own chain of middleware
    while not isinstance(layer, ApiLane):
        # Each layer is a middleware wrapped in Django's exception converter, which keeps it as __wrapped__.
        layer = getattr(layer, "__wrapped__", None) or layer.get_response
    return layer


@pytest.mark.django_db
def test_an_api_request_has_no_session_user_or_messages_and_a_console_request_has_them(
    tenant: Tenant, make_token: Callable[..., str], make_job: Callable[..., Job]
) -> None:
    job = make_job()
    client = Client()
    client.force_login(get_user_model().objects.create_user("ada", password="unused-here-0"))

    api = client.get(
        f"/ai-service/acme/jobs/{job.job_id}", headers={"Authorization": f"Bearer {make_token(tenant, READ)}"}
    )
    page = client.get("/console/")

    for attribute in ("session", "_messages"):
        assert not hasattr(api.wsgi_request, attribute)
        assert hasattr(page.wsgi_request, attribute)
    # The API's user is the one its token names (set by the API's authentication), never the session's.
    assert api.wsgi_request.user != page.wsgi_request.user and page.wsgi_request.user.username == "ada"
    assert "X-Frame-Options" not in api and page["X-Frame-Options"] == "DENY"
    assert api["Content-Length"] == str(len(api.content))


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

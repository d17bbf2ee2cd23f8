"""403, 404 and 500: console pages in the console's look with a link back; API paths keep their JSON shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

BACK = '<a class="button" href="/console/">Back to the console</a>'
STYLESHEET = 'href="/static/console/console.css"'


def assert_console_page(response: Any, status: int, heading: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    text: str = response.content.decode()
    assert STYLESHEET in text and 'class="topbar"' in text
    assert f'data-status="{status}"' in text and f"<h1>{heading}</h1>" in text
    assert BACK in text
    return text


def test_an_unknown_console_page_is_a_404_in_the_console_look(manager_client: Client) -> None:
    text = assert_console_page(manager_client.get("/console/acme/no-such-page/"), 404, "There is nothing here")

    assert "Sign out" in text  # the signed-in user's header is kept


def test_a_tenant_one_is_not_a_member_of_is_the_same_404(outsider_client: Client, tenant: Any) -> None:
    assert_console_page(outsider_client.get("/console/acme/jobs/"), 404, "There is nothing here")


def test_a_refused_console_page_is_a_403_in_the_console_look_saying_why(manager_client: Client) -> None:
    text = assert_console_page(manager_client.get("/console/workers/"), 403, "You may not do this")

    assert "Only platform admins see the workers." in text


@pytest.mark.urls("tests.console.error_urls")
def test_a_console_page_that_fails_is_a_500_that_needs_no_database_and_tells_nothing() -> None:
    # No django_db mark: any database access while rendering the error page fails the test.
    client = Client(raise_request_exception=False)

    text = assert_console_page(client.get("/console/boom/"), 500, "Something went wrong on our side")

    assert "hunter2" not in text and "RuntimeError" not in text
    assert "Sign out" not in text


@pytest.mark.urls("tests.console.error_urls")
def test_an_api_path_that_fails_keeps_the_json_error_shape() -> None:
    response = Client(raise_request_exception=False).get("/ai-service/v1/boom")

    assert response.status_code == 500
    assert json.loads(response.content) == {
        "code": 500,
        "status": "Internal Server Error",
        "message": "Internal error; the incident is logged.",
    }


def test_an_unknown_api_path_keeps_the_json_404_shape(client: Client) -> None:
    response = client.get("/ai-service/v1/no-such-thing")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["code"] == 404


def test_a_permission_refused_on_an_api_path_outside_the_api_views_is_json(rf: Any) -> None:
    from django.core.exceptions import PermissionDenied

    from apps.core.errors import permission_denied

    response = permission_denied(rf.get("/ai-service/v1/x"), PermissionDenied("Not for you."))

    assert response.status_code == 403
    assert json.loads(response.content) == {"code": 403, "status": "Forbidden", "message": "Not for you."}

"""Log lines: the request id (taken, checked, made, returned), the context every record carries (request, tenant,
client or user, job), the access line, the JSON format, and the task headers that carry a request's id to the
worker."""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from celery import signals
from celery.app.task import Context
from django.contrib.auth import get_user_model
from django.test import Client

from apps.accounts.services import IssuedClient
from apps.core import logs
from apps.jobs import tasks
from apps.tenants.models import Membership, Tenant
from config import celery as celery_config
from tests.conftest import READ
from tests.worker import purge_broker

MADE_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """caplog keeps the access lines, with the context added as the configured handlers add it."""
    context = logs.ContextFilter()
    caplog.handler.addFilter(context)
    caplog.set_level(logging.INFO, logger="apps.access")
    yield
    caplog.handler.removeFilter(context)


def only_access_line(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    lines = [record for record in caplog.records if record.name == "apps.access"]
    assert len(lines) == 1, [record.getMessage() for record in lines]
    return lines[0]


# --- The request id ------------------------------------------------------------------------------------------------


def test_an_incoming_request_id_is_kept_returned_and_written_on_the_access_line(
    db: Any, access: Any, caplog: pytest.LogCaptureFixture
) -> None:
    response = Client().get("/healthz", headers={"X-Request-ID": "edge-7f3a:42"})

    assert response["X-Request-ID"] == "edge-7f3a:42"
    line = only_access_line(caplog)
    assert line.request_id == "edge-7f3a:42"  # type: ignore[attr-defined]
    assert (line.method, line.route, line.status) == ("GET", "/healthz", 200)  # type: ignore[attr-defined]
    assert isinstance(line.duration_ms, float) and line.duration_ms >= 0  # type: ignore[attr-defined]
    assert line.getMessage().startswith("GET /healthz 200 ")


@pytest.mark.parametrize(
    "sent",
    ["two words", "x" * 129, "naïve", "line\nbreak", "tab\there", '{"level": "ERROR"}', ""],
    ids=["space", "too-long", "non-ascii", "newline", "tab", "json", "empty"],
)
def test_an_unacceptable_incoming_id_is_replaced_by_a_new_one(
    db: Any, access: Any, caplog: pytest.LogCaptureFixture, sent: str
) -> None:
    response = Client().get("/healthz", HTTP_X_REQUEST_ID=sent)

    assert response["X-Request-ID"] != sent and MADE_ID.fullmatch(response["X-Request-ID"])
    assert only_access_line(caplog).request_id == response["X-Request-ID"]  # type: ignore[attr-defined]


def test_a_request_without_an_id_gets_a_new_one_each_time(db: Any) -> None:
    first, second = Client().get("/healthz"), Client().get("/healthz")

    assert MADE_ID.fullmatch(first["X-Request-ID"]) and MADE_ID.fullmatch(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert logs.current() == {}  # nothing of a request is left behind for the next one in the thread


def test_the_id_is_made_for_requests_no_route_matches_too(db: Any, access: Any, caplog: Any) -> None:
    response = Client().get("/no/such/page?token=not-for-the-log")

    assert response.status_code == 404 and MADE_ID.fullmatch(response["X-Request-ID"])
    line = only_access_line(caplog)
    assert line.route == "(unmatched)" and "token" not in line.getMessage()  # type: ignore[attr-defined]


# --- Who is calling --------------------------------------------------------------------------------------------


def test_api_lines_name_the_route_the_tenant_and_the_client_never_the_token(
    tenant: Tenant,
    issue_client: Callable[..., IssuedClient],
    make_token: Callable[..., str],
    access: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    issued = issue_client(tenant, READ)
    token = make_token(tenant, READ, client=issued.client)

    response = Client().get("/ai-service/acme/agentic/agents", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    line = only_access_line(caplog)
    assert line.route == "/ai-service/<str:tenant>/agentic/agents"  # type: ignore[attr-defined]
    assert line.tenant == "acme" and line.client_id == issued.client.client_id  # type: ignore[attr-defined]
    assert token not in str(vars(line))
    assert "Vary" not in response  # naming a console user never reads the session of an API call


def test_djangos_line_about_a_refused_request_carries_the_requests_context(
    tenant: Tenant, access: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Django writes it once the middleware has returned, from the request attached to the record.
    response = Client().get("/ai-service/acme/agentic/agents", headers={"Authorization": "Bearer not-a-token"})

    assert response.status_code == 401
    refused = next(record for record in caplog.records if record.name == "django.request")
    assert refused.request_id == response["X-Request-ID"] and refused.tenant == "acme"  # type: ignore[attr-defined]
    assert logs.current() == {}


def test_the_token_endpoint_names_the_client_asking_never_its_secret(
    tenant: Tenant, issue_client: Callable[..., IssuedClient], access: Any, caplog: pytest.LogCaptureFixture
) -> None:
    issued = issue_client(tenant, READ)
    form = {"grant_type": "client_credentials", "client_id": issued.client.client_id}
    form["client_secret"] = issued.client_secret

    response = Client().post("/oauth/token", form)

    assert response.status_code == 200
    line = only_access_line(caplog)
    assert line.client_id == issued.client.client_id  # type: ignore[attr-defined]
    assert issued.client_secret not in str(vars(line)) and response.json()["access_token"] not in str(vars(line))


def test_console_lines_name_the_signed_in_user_and_the_tenant_of_the_page(
    tenant: Tenant, access: Any, caplog: pytest.LogCaptureFixture
) -> None:
    user = get_user_model().objects.create_user(username="mia", password=None, is_staff=True)
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.MANAGER)
    client = Client()
    client.force_login(user)

    response = client.get("/console/acme/jobs/")

    assert response.status_code == 200
    line = only_access_line(caplog)
    assert line.user_id == str(user.pk) and line.tenant == "acme"  # type: ignore[attr-defined]
    assert line.route == "/console/<str:tenant>/jobs/"  # type: ignore[attr-defined]


# --- The context in records ------------------------------------------------------------------------------------


def record(**extra: Any) -> logging.LogRecord:
    made = logging.LogRecord("apps.test", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_records_carry_the_fields_known_in_their_context_and_only_those() -> None:
    with logs.scope(request_id="req-1", tenant="acme"):
        logs.bind(job_id="65f0c0ffee0000000000abcd", client_id=None)
        inside = record()
        logs.ContextFilter().filter(inside)
    outside = record()
    logs.ContextFilter().filter(outside)

    assert (inside.request_id, inside.tenant, inside.job_id) == ("req-1", "acme", "65f0c0ffee0000000000abcd")  # type: ignore[attr-defined]
    assert not hasattr(inside, "client_id") and not hasattr(inside, "user_id")
    assert not any(hasattr(outside, name) for name in logs.FIELDS)


def test_a_field_passed_with_the_line_wins_over_the_context() -> None:
    with logs.scope(request_id="req-1"):
        line = record(request_id="given")
        logs.ContextFilter().filter(line)
    assert line.request_id == "given"  # type: ignore[attr-defined]


def test_a_scope_gives_back_the_context_it_found() -> None:
    with logs.scope(request_id="outer", tenant="acme"), logs.scope(request_id="inner"):
        assert logs.current() == {"request_id": "inner"}
    with logs.scope(request_id="outer", tenant="acme"):
        with logs.scope(request_id="inner"):
            pass
        assert logs.current() == {"request_id": "outer", "tenant": "acme"}


def test_only_the_known_fields_can_be_bound() -> None:
    with logs.scope(), pytest.raises(ValueError, match="password"):
        logs.bind(password="hunter2")


# --- The JSON format -----------------------------------------------------------------------------------------


def test_a_json_line_has_the_standard_fields_the_context_and_the_extras_but_no_request_object() -> None:
    with logs.scope(request_id="req-1", tenant="acme"):
        line = record(status=201, request=object())
        logs.ContextFilter().filter(line)
    parsed = json.loads(logs.json_formatter().format(line))

    assert parsed["level"] == "INFO" and parsed["logger"] == "apps.test" and parsed["message"] == "hello there"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", parsed["timestamp"])
    assert (parsed["request_id"], parsed["tenant"], parsed["status"]) == ("req-1", "acme", 201)
    assert "request" not in parsed


def test_a_json_line_carries_the_traceback_of_an_exception() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        line = logging.LogRecord("apps.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    parsed = json.loads(logs.json_formatter().format(line))
    assert "RuntimeError: boom" in parsed["exc_info"] and "\n" not in logs.json_formatter().format(line)


def test_the_configuration_names_only_the_two_formats_and_routes_gunicorn_in_json() -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logs.logging_config("xml", "INFO")
    plain, as_json = logs.logging_config("plain", "info"), logs.logging_config("json", "info")
    assert plain["handlers"]["console"]["formatter"] == "plain" and "gunicorn.error" not in plain["loggers"]
    assert as_json["handlers"]["console"]["formatter"] == "json" and as_json["root"]["level"] == "INFO"
    assert as_json["loggers"]["gunicorn.error"]["propagate"] is True
    assert as_json["loggers"]["gunicorn.access"]["propagate"] is False


# --- Into the job's task -----------------------------------------------------------------------------------------


@pytest.fixture
def published() -> Iterator[list[dict[str, Any]]]:
    """The headers of the task messages sent while the test runs (after our own receiver added to them)."""
    sent: list[dict[str, Any]] = []

    def keep(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
        sent.append(dict(headers or {}))

    signals.before_task_publish.connect(keep, weak=False)
    yield sent
    signals.before_task_publish.disconnect(keep)
    purge_broker()


def test_a_task_sent_during_a_request_carries_its_id_and_tenant_in_its_headers(
    published: list[dict[str, Any]],
) -> None:
    with logs.scope(request_id="req-9", tenant="acme", client_id="c-1"):
        tasks.ping.apply_async()
    tasks.ping.apply_async()

    during, after = published
    assert during["log_request_id"] == "req-9" and during["log_tenant"] == "acme"
    assert "log_client_id" not in during  # who asked stays with the request's own lines
    assert "log_request_id" not in after and "log_tenant" not in after


def test_the_worker_sets_the_senders_context_for_the_tasks_duration_only() -> None:
    headers = {"log_request_id": "req-9", "log_tenant": "acme", "id": "task-1"}
    task = SimpleNamespace(request=Context(headers))
    with logs.scope(request_id="the-caller", job_id="its-job"):
        celery_config._enter_log_context(task_id="task-1", task=task)
        during = logs.current()
        celery_config._leave_log_context(task_id="task-1", task=task)
        after = logs.current()

    assert during == {"request_id": "req-9", "tenant": "acme"}  # nothing of what ran before in this thread
    assert after == {"request_id": "the-caller", "job_id": "its-job"}  # given back, as to an eager task's caller


def test_a_task_sent_by_no_request_runs_with_an_empty_context() -> None:
    with logs.scope(request_id="the-task-before"):
        celery_config._enter_log_context(task_id="task-2", task=SimpleNamespace(request=Context({"id": "task-2"})))
        assert logs.current() == {}
        celery_config._leave_log_context(task_id="task-2")
        assert logs.current() == {"request_id": "the-task-before"}


# --- Python's warnings --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("log_format", "routed"), [("json", True), ("plain", False)])
def test_warnings_become_log_lines_in_json(
    settings: Any, caplog: pytest.LogCaptureFixture, log_format: str, routed: bool
) -> None:
    from django.apps import apps

    settings.LOG_FORMAT = log_format
    # From a clean state: a Celery worker started earlier in the run turned the capture on, and pytest has since
    # put its own showwarning back, which leaves logging believing the capture is still on.
    logging.captureWarnings(False)
    try:
        apps.get_app_config("core").ready()
        # Recorded only where it is not routed: recording would replace what ready() set up.
        with warnings.catch_warnings(record=not routed) as shown:
            warnings.simplefilter("always")
            warnings.warn_explicit("an old call", DeprecationWarning, "apps/example.py", 7)
    finally:
        logging.captureWarnings(False)
    lines = [record.getMessage() for record in caplog.records if record.name == "py.warnings"]
    if routed:
        assert len(lines) == 1 and "DeprecationWarning: an old call" in lines[0]
    else:
        assert not lines and [str(warning.message) for warning in shown or []] == ["an old call"]

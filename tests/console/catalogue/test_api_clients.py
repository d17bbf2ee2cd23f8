"""The console's API client pages: list, create (the secret shown once), revoke."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import ApiClient
from apps.audit.models import AuditEvent
from apps.console.catalogue import services
from apps.tenants.models import Tenant
from tests.console.catalogue.helpers import (
    post_form,
)
from tests.console.catalogue_fixtures import (
    field_errors,
    html,
    make_api_client,
    page,
    snapshot,
)


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match is not None, pattern
    return match.group(1)


def token_request(client_id: str, secret: str) -> Any:
    return Client().post(
        "/oauth/token", {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )


def test_the_client_list_shows_the_tenants_clients(world: ApiClient, viewer_client: Client, other_tenant: Tenant):
    make_api_client(other_tenant, name="Globex sync")

    text = html(viewer_client.get(page("clients/")))

    assert "Nightly sync" in text and world.client_id in text and "ai.agent_read" in text
    assert "Globex sync" not in text


def test_a_created_clients_secret_is_shown_once_and_gets_tokens_until_revoked(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    response = post_form(
        manager_client, "clients/new", {"name": "Importer", "scopes": ["ai.agent_read", "ai.agent_manage"]}
    )

    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    text = html(response)
    assert "shown only this once" in text
    client_id = found(r"<code data-client-id>([^<]+)</code>", text)
    secret = found(r'<code class="secret" data-client-secret>([^<]+)</code>', text)
    created = ApiClient.objects.get(tenant=tenant, client_id=client_id)
    assert created.name == "Importer" and created.allowed_scopes == ["ai.agent_read", "ai.agent_manage"]
    assert created.client_secret != secret  # stored hashed
    event = AuditEvent.objects.get(action=AuditEvent.Action.CLIENT_CREATE)
    assert event.object_id == client_id and secret not in json.dumps(event.detail)
    # Never again: not on the list, not on the revoke page.
    for path in ("clients/", f"clients/{client_id}/revoke"):
        assert secret.encode() not in manager_client.get(page(path)).content

    issued = token_request(client_id, secret)
    assert issued.status_code == 200 and issued.json()["access_token"]

    confirm = manager_client.get(page(f"clients/{client_id}/revoke"))
    assert confirm.status_code == 200 and "Revoke it" in html(confirm)
    revoked = post_form(manager_client, f"clients/{client_id}/revoke", {})
    assert revoked.status_code == 302 and revoked["Location"] == "/console/acme/clients/"

    refused = token_request(client_id, secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert ApiClient.objects.get(pk=created.pk).revoked_at is not None
    event = AuditEvent.objects.get(action=AuditEvent.Action.CLIENT_REVOKE)
    assert event.object_id == client_id and event.username == "mia-manager"


def test_a_client_needs_a_scope(world: ApiClient, manager_client: Client):
    before = snapshot()

    response = post_form(manager_client, "clients/new", {"name": "No scopes"})

    assert response.status_code == 400
    assert "Choose at least one scope." in field_errors(html(response))
    assert snapshot() == before


def test_revoking_a_revoked_client_changes_nothing(world: ApiClient, manager_client: Client):
    post_form(manager_client, f"clients/{world.client_id}/revoke", {})
    first = ApiClient.objects.get(pk=world.pk).revoked_at

    response = post_form(manager_client, f"clients/{world.client_id}/revoke", {})

    assert response.status_code == 302
    assert ApiClient.objects.get(pk=world.pk).revoked_at == first
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CLIENT_REVOKE).count() == 1


def test_a_revoked_client_is_marked_on_the_list_without_a_revoke_button(world: ApiClient, manager_client: Client):
    post_form(manager_client, f"clients/{world.client_id}/revoke", {})

    text = html(manager_client.get(page("clients/")))

    assert "revoked" in text and f"clients/{world.client_id}/revoke" not in text


def test_a_new_clients_secret_stays_out_of_the_error_report_of_a_failing_page(
    world: ApiClient, manager_client: Client, monkeypatch: pytest.MonkeyPatch
):
    # An error while the page is drawn is reported (to ADMINS, to the logs) with the local variables of every
    # frame: the secret must not be among them, in the view or below it.
    import sys

    from django.views.debug import ExceptionReporter

    from apps.accounts import services as account_services
    from apps.console.catalogue import client_views

    issued: list[Any] = []
    create = account_services.api_client_create

    def remembering(**kwargs: Any) -> Any:
        issued.append(create(**kwargs))
        return issued[-1]

    def failing(request: Any, template: str, context: dict[str, Any], **kwargs: Any) -> Any:
        raise RuntimeError("the page could not be drawn")

    monkeypatch.setattr(services, "api_client_create", remembering)
    monkeypatch.setattr(client_views, "render", failing)
    with pytest.raises(RuntimeError):
        try:
            post_form(manager_client, "clients/new", {"name": "Importer", "scopes": ["ai.agent_read"]})
        except RuntimeError:
            frames = ExceptionReporter(None, *sys.exc_info()).get_traceback_data()["frames"]
            raise

    secret = issued[0].client_secret
    # The frames from the view down, `failing` standing in for the template engine's.
    shown = {frame["function"]: repr(frame["vars"]) for frame in frames if not frame["function"].startswith("test_")}
    assert "client_create" in shown and "failing" in shown
    assert not [function for function, variables in shown.items() if secret in variables]

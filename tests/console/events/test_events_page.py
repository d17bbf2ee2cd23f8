"""The commerce events page of the console (/console/<tenant>/events/): managers and platform admins see the
signing secret when they ask and can rotate it, viewers see the page without it, outsiders see nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from apps.agentic.events import selectors
from apps.agentic.events.services import event_receive, event_secret_get
from apps.agentic.models import EventSecret
from apps.audit.models import AuditEvent
from apps.tenants.models import Tenant
from tests.agentic.events.conftest import ORDER_CREATED, commerce_trigger, order_event, subscribe

pytestmark = pytest.mark.django_db

PAGE, SECRET, ROTATE = "/console/acme/events/", "/console/acme/events/secret", "/console/acme/events/rotate"
WHSEC = re.compile(r"whsec_[A-Za-z0-9+/=]+")


def shown_secret(response: Any) -> str | None:
    found = re.search(r"data-event-secret>(whsec_[^<]+)<", response.content.decode())
    return found.group(1) if found else None


def test_the_page_tells_where_and_how_to_send_events(manager_client: Client, tenant: Tenant) -> None:
    response = manager_client.get(PAGE)
    text = response.content.decode()

    assert response.status_code == 200
    assert "POST http://testserver/ai-service/acme/agentic/commerce-events/inbox" in text
    assert "webhook-signature" in text and "order.order-created" in text
    assert 'href="/console/acme/events/" aria-current="page"' in text  # in the tenant's menu


def test_a_manager_sees_the_secret_only_after_asking_and_not_in_the_page_itself(
    manager_client: Client, tenant: Tenant
) -> None:
    page = manager_client.get(PAGE)
    assert not WHSEC.search(page.content.decode())
    assert not EventSecret.objects.exists()  # looking at the page makes no secret

    response = manager_client.post(SECRET)

    secret = shown_secret(response)
    assert secret is not None
    assert secret == event_secret_get(tenant=tenant)
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert not WHSEC.search(manager_client.get(PAGE).content.decode())  # hidden again on the next visit


def test_showing_the_secret_is_audited_without_the_secret(manager_client: Client, tenant: Tenant) -> None:
    secret = shown_secret(manager_client.post(SECRET))

    event = AuditEvent.objects.get(tenant=tenant, action=AuditEvent.Action.EVENT_SECRET_REVEAL)
    assert event.username == "mia-manager"
    assert secret and secret not in str(event.detail)


def test_a_platform_admin_sees_and_rotates_the_secret(platform_admin_client: Client, tenant: Tenant) -> None:
    assert shown_secret(platform_admin_client.post(SECRET)) == event_secret_get(tenant=tenant)
    assert platform_admin_client.post(ROTATE).status_code == 200


def test_a_viewer_sees_the_page_but_never_the_secret(viewer_client: Client, tenant: Tenant) -> None:
    secret = event_secret_get(tenant=tenant)

    page = viewer_client.get(PAGE)
    text = page.content.decode()

    assert page.status_code == 200
    assert secret not in text and not WHSEC.search(text)
    assert "Show the secret" not in text and "Rotate" not in text
    assert viewer_client.post(SECRET).status_code == 403
    assert viewer_client.get(ROTATE).status_code == 403
    assert viewer_client.post(ROTATE).status_code == 403
    assert event_secret_get(tenant=tenant) == secret


@pytest.mark.parametrize(("method", "path"), [("get", PAGE), ("post", SECRET), ("get", ROTATE), ("post", ROTATE)])
def test_another_tenants_manager_gets_a_404(outsider_client: Client, tenant: Tenant, method: str, path: str) -> None:
    assert getattr(outsider_client, method)(path).status_code == 404
    assert not EventSecret.objects.filter(tenant=tenant).exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(anonymous_client: Client, tenant: Tenant) -> None:
    for response in (anonymous_client.get(PAGE), anonymous_client.post(SECRET)):
        assert response.status_code == 302
        assert response["Location"].startswith("/console/login/")
    assert not EventSecret.objects.exists()


def test_the_secret_is_shown_only_in_answer_to_a_post(manager_client: Client, tenant: Tenant) -> None:
    assert manager_client.get(SECRET).status_code == 405


def test_rotating_asks_first_then_shows_the_new_secret_and_audits_it(
    manager_client: Client, tenant: Tenant, settings: Any
) -> None:
    settings.EVENT_SECRET_GRACE_SECONDS = 600
    old = event_secret_get(tenant=tenant)

    confirm = manager_client.get(ROTATE)
    assert confirm.status_code == 200
    assert "600 s" in confirm.content.decode()
    assert event_secret_get(tenant=tenant) == old  # asking changed nothing

    response = manager_client.post(ROTATE)

    new = shown_secret(response)
    assert new is not None and new != old
    assert "The previous one keeps working for 600 s." in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert selectors.event_secrets_valid(tenant=tenant) == [new, old]
    event = AuditEvent.objects.get(tenant=tenant, action=AuditEvent.Action.EVENT_SECRET_ROTATE)
    assert event.detail == {"graceSeconds": 600}
    assert old not in str(event.detail) and new not in str(event.detail)


def test_a_secret_no_key_opens_is_explained_and_can_be_rotated(manager_client: Client, tenant: Tenant) -> None:
    EventSecret.objects.create(tenant=tenant, encrypted_secret="gAAAAAsealed-under-a-key-long-gone")

    refused = manager_client.post(SECRET)

    assert refused.status_code == 409
    assert "opens with none of TOKEN_ENCRYPTION_KEYS" in refused.content.decode()
    assert shown_secret(manager_client.post(ROTATE)) is not None


def test_the_last_deliveries_are_listed_with_links_to_their_jobs(
    manager_client: Client, viewer_client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    subscribe(tenant, "notifier", commerce_trigger(ORDER_CREATED))
    received = event_receive(tenant=tenant, webhook_id="msg_listed", body=order_event())
    event_receive(tenant=tenant, webhook_id="msg_nobody", body=order_event(event="product.product-deleted"))
    event_receive(tenant=other_tenant, webhook_id="msg_theirs", body=order_event())

    text = viewer_client.get(PAGE).content.decode()

    assert 'data-webhook-id="msg_listed"' in text and 'data-webhook-id="msg_nobody"' in text
    assert "msg_theirs" not in text
    (job_id,) = received.job_ids
    assert f'href="/console/acme/jobs/{job_id}/"' in text
    assert text.index("msg_nobody") < text.index("msg_listed")  # newest first

"""The console's job pages and actions for each persona (tests/console/conftest.py): a manager and a platform admin
may act, a viewer only looks (no buttons; 403 on acting), an outsider gets 404 for everything of the tenant, and
an anonymous visitor is sent to sign in."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from apps.jobs.models import Job
from tests.console.conftest import SIGN_IN
from tests.console.jobs.helpers import (
    BASE,
    actions,
    linked,
    pages,
)


@pytest.mark.parametrize("persona", ["manager", "viewer", "platform_admin"])
def test_every_page_answers_to_the_tenants_members_and_platform_admins(client_as, persona, failed_export, exported):
    client = client_as(persona)
    for url in [*pages(failed_export), f"{BASE}/jobs/{exported.job_id}/export.json"]:
        assert client.get(url).status_code == 200, url


def test_an_outsider_gets_404_for_every_page_and_action_of_the_tenant(outsider_client, failed_export, exported):
    for url in [*pages(failed_export), f"{BASE}/jobs/{exported.job_id}/export.json"]:
        assert outsider_client.get(url).status_code == 404, url
    assert outsider_client.get(f"{BASE}/jobs/{failed_export.job_id}/delete").status_code == 404
    for url, data in actions(failed_export):
        assert outsider_client.post(url, data).status_code == 404, url
    assert Job.objects.filter(tenant=failed_export.tenant).count() == 2
    assert not AuditEvent.objects.exists()


def test_a_member_gets_404_for_another_tenants_job_through_their_own_tenants_paths(manager_client, foreign_job):
    detail = f"{BASE}/jobs/{foreign_job.job_id}"
    for url in (f"{detail}/", f"{detail}/export.json", f"{detail}/delete"):
        assert manager_client.get(url).status_code == 404, url
    for url in (f"{detail}/delete", f"{detail}/retry"):
        assert manager_client.post(url).status_code == 404, url
    assert manager_client.get(f"{BASE}/jobs/status.json?id={foreign_job.job_id}").json() == {"jobs": {}}
    assert Job.objects.filter(pk=foreign_job.pk, retries__isnull=True).exists()


def test_a_tenant_that_does_not_exist_is_404_even_for_a_platform_admin(platform_admin_client, db):
    assert platform_admin_client.get("/console/nosuch/").status_code == 404
    assert platform_admin_client.get("/console/nosuch/jobs/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(anonymous_client, failed_export):
    for url in pages(failed_export):
        response = anonymous_client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{SIGN_IN}?next=/console/acme/"), url
    for url, data in actions(failed_export):
        assert anonymous_client.post(url, data)["Location"].startswith(SIGN_IN), url
    assert Job.objects.filter(pk=failed_export.pk).exists()


def test_a_viewer_sees_no_action_buttons(viewer_client, manager_client, failed_export):
    for client, can_act in ((viewer_client, False), (manager_client, True)):
        listing = client.get(f"{BASE}/jobs/").content.decode()
        detail = client.get(f"{BASE}/jobs/{failed_export.job_id}/").content.decode()
        assert ('name="mode" value="filter"' in listing) is can_act
        assert ('type="checkbox" name="id"' in listing) is can_act
        assert (f"/jobs/{linked(failed_export.job_id)}/retry" in detail) is can_act
        assert (f"/jobs/{linked(failed_export.job_id)}/delete" in detail) is can_act


def test_a_viewer_is_refused_every_action_with_403_and_nothing_changes(viewer_client, failed_export):
    assert viewer_client.get(f"{BASE}/jobs/{failed_export.job_id}/delete").status_code == 403
    for url, data in actions(failed_export):
        assert viewer_client.post(url, data).status_code == 403, url
    assert Job.objects.count() == 1
    assert not AuditEvent.objects.exists()


def test_actions_need_a_csrf_token(manager_user, failed_export):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manager_user)

    assert browser.post(f"{BASE}/jobs/{failed_export.job_id}/delete").status_code == 403
    assert Job.objects.filter(pk=failed_export.pk).exists()


def test_actions_change_nothing_on_get(manager_client, failed_export):
    assert manager_client.get(f"{BASE}/jobs/{failed_export.job_id}/retry").status_code == 405
    assert manager_client.get(f"{BASE}/jobs/delete?mode=filter&confirm=yes").status_code == 405
    assert manager_client.get(f"{BASE}/jobs/{failed_export.job_id}/delete").status_code == 200  # the confirmation
    assert Job.objects.count() == 1

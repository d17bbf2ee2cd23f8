"""The console's job pages: dashboard, list, detail, export download, live status, actions and audit trail.

Each page and action is checked for each persona (tests/console/conftest.py): a manager and a platform admin
may act, a viewer only looks (no buttons; 403 on acting), an outsider gets 404 for everything of the tenant, and
an anonymous visitor is sent to sign in."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.agents.bundle import bundle_decode, bundle_encode
from apps.console.jobs import selectors, services
from apps.console.models import AuditEvent
from apps.core.timefmt import format_instant, now_ms
from apps.jobs import services as job_services
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.conftest import empty_cache
from tests.console.conftest import SIGN_IN

BASE = "/console/acme"


def linked(job_id: str) -> str:
    """A job id as the pages' links hold it: percent-encoded whole, and that "%" encoded again by reverse()."""
    return job_id.replace("%", "%25").replace("/", "%252F")


EXPORT_DOC = {"formatVersion": 1, "agents": [{"id": "support", "name": {"en": "Support"}}], "tools": []}


def make(tenant: Tenant, **fields: Any) -> Job:
    fields.setdefault("type", Job.Type.AGENT_CHAT)
    return Job.objects.create(tenant=tenant, **fields)


def ids_on(response: Any) -> list[str]:
    """The job ids of the rows of the page's job tables, in order."""
    return [html.unescape(i) for i in re.findall(r'<tr data-job-id="([^"]*)"', response.content.decode())]


def link(response: Any, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)" rel="{rel}">', response.content.decode())
    return html.unescape(found.group(1)) if found else None


@pytest.fixture
def failed_export(tenant: Tenant) -> Job:
    return make(
        tenant,
        job_id="exp/ort-1",  # ids are opaque: a "/" must not break any path
        type=Job.Type.EXPORT,
        status=Job.Status.FAILURE,
        payload={"agentIds": ["support"]},
        message="The export failed because of an internal error",
        attempts=1,
        finished_at=now_ms(),
    )


@pytest.fixture
def exported(tenant: Tenant) -> Job:
    data, checksum = bundle_encode(EXPORT_DOC)
    return make(
        tenant,
        job_id="export-ok",
        type=Job.Type.EXPORT,
        status=Job.Status.SUCCESS,
        export_result={"data": data, "checksum": checksum},
        finished_at=now_ms(),
    )


@pytest.fixture
def foreign_job(other_tenant: Tenant) -> Job:
    data, checksum = bundle_encode(EXPORT_DOC)
    return make(
        other_tenant,
        job_id="globex-export",
        type=Job.Type.EXPORT,
        status=Job.Status.FAILURE,
        payload={"agentIds": ["a"]},
        export_result={"data": data, "checksum": checksum},
    )


def pages(job: Job) -> list[str]:
    return [
        f"{BASE}/",
        f"{BASE}/counts.json",
        f"{BASE}/jobs/",
        f"{BASE}/jobs/status.json?id={job.job_id}",
        f"{BASE}/jobs/{job.job_id}/",
        f"{BASE}/audit/",
    ]


def actions(job: Job) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{BASE}/jobs/{job.job_id}/delete", {}),
        (f"{BASE}/jobs/{job.job_id}/retry", {}),
        (f"{BASE}/jobs/delete", {"mode": "selected", "id": [job.job_id]}),
        (f"{BASE}/jobs/delete", {"mode": "filter", "confirm": "yes", "until": format_instant(now_ms())}),
    ]


# --- Access ---------------------------------------------------------------------------------------------------


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


# --- Dashboard ------------------------------------------------------------------------------------------------


@pytest.fixture
def mix(tenant: Tenant, other_tenant: Tenant) -> None:
    start = now_ms() - timedelta(hours=1)
    for i, (job_type, status) in enumerate(
        [
            (Job.Type.AGENT_CHAT, Job.Status.SUCCESS),
            (Job.Type.AGENT_CHAT, Job.Status.SUCCESS),
            (Job.Type.AGENT_CHAT, Job.Status.FAILURE),
            (Job.Type.EXPORT, Job.Status.IN_PROGRESS),
            (Job.Type.IMPORT, Job.Status.FAILURE),
        ]
    ):
        message = f"{job_type} number {i} broke" if status == Job.Status.FAILURE else None
        make(
            tenant,
            job_id=f"j{i}",
            type=job_type,
            status=status,
            message=message,
            created_at=start + timedelta(minutes=i),
        )
    make(other_tenant, job_id="g1", type=Job.Type.EXPORT, status=Job.Status.FAILURE, message="globex broke")


def test_the_counts_are_per_type_and_status_of_the_tenant_only(manager_client, mix):
    body = manager_client.get(f"{BASE}/counts.json").json()

    assert body["counts"] == {
        "AGENT_CHAT": {"in_progress": 0, "success": 2, "failure": 1},
        "EXPORT": {"in_progress": 1, "success": 0, "failure": 0},
        "IMPORT": {"in_progress": 0, "success": 0, "failure": 1},
    }
    assert body["byStatus"] == {"in_progress": 1, "success": 2, "failure": 2}
    assert body["byType"] == {"AGENT_CHAT": 3, "EXPORT": 1, "IMPORT": 1}
    assert body["total"] == 5


def test_the_counts_come_from_one_group_by_on_type_and_status(manager_client, mix):
    with CaptureQueriesContext(connection) as queries:
        manager_client.get(f"{BASE}/counts.json")

    grouped = [q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1
    assert grouped[0].startswith('SELECT "jobs_job"."type" AS "type", "jobs_job"."status" AS "status", COUNT(*)')
    assert re.search(r'WHERE \("jobs_job"."tenant_id" = \d+ AND "jobs_job"."type" IN \(.*\)\) GROUP BY', grouped[0])
    assert re.search(r'GROUP BY (1, 2|"jobs_job"."type", "jobs_job"."status")$', grouped[0])


def test_dashboards_polling_the_same_tenant_share_one_count_for_a_few_seconds(manager_client, viewer_client, mix):
    assert manager_client.get(f"{BASE}/counts.json").json()["total"] == 5
    Job.objects.filter(job_id="j0").delete()

    with CaptureQueriesContext(connection) as queries:
        shared = viewer_client.get(f"{BASE}/counts.json").json()

    assert shared["total"] == 5
    assert not [q for q in queries.captured_queries if "GROUP BY" in q["sql"]]
    empty_cache()  # as when the few seconds have passed
    assert viewer_client.get(f"{BASE}/counts.json").json()["total"] == 4


def test_the_dashboard_shows_counts_then_recent_failures_with_their_messages_then_recent_jobs(manager_client, mix):
    response = manager_client.get(f"{BASE}/")
    page = response.content.decode()

    assert re.search(r'data-count="AGENT_CHAT:success">2<', page)
    assert re.search(r'data-count="total">5<', page)
    failures, recent = page.split("Recent failures")[1].split("Recent jobs")
    assert ids_on(response)[:2] == ["j4", "j2"]  # newest failure first
    assert "IMPORT number 4 broke" in failures and "AGENT_CHAT number 2 broke" in failures
    assert "globex" not in page
    assert [i for i in re.findall(r'<tr data-job-id="([^"]*)"', recent)] == ["j4", "j3", "j2", "j1", "j0"]
    assert f'data-url="{BASE}/counts.json"' in page  # the counts refresh in place


# --- The job list ---------------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(tenant: Tenant, other_tenant: Tenant) -> dict[str, Job]:
    day = now_ms().replace(year=2026, month=3, day=10, hour=12, minute=0, second=0, microsecond=0)
    jobs = {
        "chat-ok": make(
            tenant,
            job_id="chat-ok",
            agent_type="support",
            agent_id="a1",
            status="success",
            message="Answered about ORDER 17",
            created_at=day - timedelta(days=2),
        ),
        "chat-bad": make(
            tenant,
            job_id="chat-bad",
            agent_type="complaint",
            agent_id="a2",
            status="failure",
            message="Could not reach the commerce API: timeout",
            created_at=day - timedelta(days=1),
        ),
        "export-bad": make(
            tenant,
            job_id="export-bad",
            type="EXPORT",
            status="failure",
            message="The export failed: order gone",
            created_at=day,
        ),
        "import-run": make(
            tenant, job_id="import-run", type="IMPORT", status="in_progress", created_at=day + timedelta(days=1)
        ),
        "chat-a1": make(
            tenant,
            job_id="chat-a1",
            agent_type="generic",
            agent_id="a1",
            status="success",
            message="100% done_right",
            created_at=day + timedelta(days=2),
        ),
    }
    make(other_tenant, job_id="globex-chat", agent_id="a1", status="failure", message="order", created_at=day)
    return jobs


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["chat-a1", "import-run", "export-bad", "chat-bad", "chat-ok"]),
        ("type=EXPORT", ["export-bad"]),
        ("status=failure", ["export-bad", "chat-bad"]),
        ("type=AGENT_CHAT&status=success", ["chat-a1", "chat-ok"]),
        ("agent_type=complaint", ["chat-bad"]),
        ("agent=a1", ["chat-a1", "chat-ok"]),
        ("created_from=2026-03-10", ["chat-a1", "import-run", "export-bad"]),
        ("created_to=2026-03-09", ["chat-bad", "chat-ok"]),
        ("created_from=2026-03-09&created_to=2026-03-10", ["export-bad", "chat-bad"]),
        ("q=order", ["export-bad", "chat-ok"]),  # case-insensitive, and never another tenant's
        ("q=100%25", ["chat-a1"]),
        ("q=r_1", []),  # % and _ are matched literally: as a wildcard, "_" would match "ORDER 17"
        ("status=failure&q=timeout", ["chat-bad"]),
        ("sort=oldest", ["chat-ok", "chat-bad", "export-bad", "import-run", "chat-a1"]),
        ("sort=oldest&agent=a1", ["chat-ok", "chat-a1"]),
    ],
)
def test_the_filters_filter(manager_client, catalogue, query, expected):
    response = manager_client.get(f"{BASE}/jobs/?{query}")

    assert response.status_code == 200
    assert ids_on(response) == expected


@pytest.mark.parametrize(
    "query", ["type=NOPE", "status=done", "created_from=yesterday", "created_from=2026-03-10&created_to=2026-03-01"]
)
def test_a_bad_filter_is_a_400_that_explains_it_and_lists_nothing(manager_client, catalogue, query):
    response = manager_client.get(f"{BASE}/jobs/?{query}")

    assert response.status_code == 400
    assert ids_on(response) == []
    assert 'class="msg-error"' in response.content.decode()


def test_the_list_shows_failure_messages_links_each_row_to_its_detail_and_has_no_count(manager_client, catalogue):
    page = manager_client.get(f"{BASE}/jobs/").content.decode()

    assert "Could not reach the commerce API: timeout" in page
    assert 'class="badge badge-failure"' in page
    for job_id in catalogue:
        assert f'href="{BASE}/jobs/{job_id}/"' in page
    assert "5 shown" in page and "more" not in page.split("5 shown")[1].split("</span>")[0]


def test_the_list_pages_by_keyset_without_offset(manager_client, catalogue):
    with CaptureQueriesContext(connection) as queries:
        manager_client.get(f"{BASE}/jobs/?status=failure")

    listing = [q["sql"] for q in queries.captured_queries if 'FROM "jobs_job"' in q["sql"]]
    assert len(listing) == 1
    assert "OFFSET" not in listing[0] and "COUNT(" not in listing[0].upper()
    assert "LIMIT 51" in listing[0]


@pytest.fixture
def many(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """11 jobs, newest first, several created at the same instant (so job_id breaks the ties), 3 to a page."""
    monkeypatch.setattr(selectors, "PAGE_SIZE", 3)
    at = now_ms() - timedelta(days=1)
    instants = [at, at, at, at + timedelta(seconds=1), at + timedelta(seconds=2), at + timedelta(seconds=2)]
    instants += [at + timedelta(seconds=s) for s in range(3, 8)]
    jobs = [make(tenant, job_id=f"m{i:02d}", created_at=when) for i, when in enumerate(instants)]
    make(tenant, job_id="other-type", type=Job.Type.EXPORT, created_at=at + timedelta(seconds=1))
    return [job.job_id for job in sorted(jobs, key=lambda j: (j.created_at, j.job_id), reverse=True)]


def walk(client: Client, url: str, rel: str) -> tuple[list[list[str]], str | None]:
    """Follow `rel` links from `url`; the pages' ids, and the last page's URL."""
    seen: list[list[str]] = []
    last = None
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen.append(ids_on(response))
        last, url = url, link(response, rel)  # type: ignore[assignment]
    return seen, last


def test_older_links_walk_every_job_once_and_newer_links_walk_back(manager_client, many):
    forward, last = walk(manager_client, f"{BASE}/jobs/?type=AGENT_CHAT", "next")

    assert [len(page) for page in forward] == [3, 3, 3, 2]
    assert [
        job_id for page in forward for job_id in page
    ] == many  # in order, no overlap, nothing skipped, the filter kept
    assert last is not None
    backward, _ = walk(manager_client, last, "prev")
    assert backward == forward[::-1]
    first = manager_client.get(f"{BASE}/jobs/?type=AGENT_CHAT")
    assert link(first, "prev") is None


def test_oldest_first_pages_the_other_way(manager_client, many):
    forward, last = walk(manager_client, f"{BASE}/jobs/?type=AGENT_CHAT&sort=oldest", "next")

    assert [job_id for page in forward for job_id in page] == many[::-1]
    backward, _ = walk(manager_client, last or "", "prev")
    assert backward == forward[::-1]


def test_paging_keeps_jobs_apart_that_were_created_within_the_same_millisecond(manager_client, tenant, monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    at = now_ms() - timedelta(days=1)
    for micro, job_id in ((900, "x1"), (500, "x2"), (100, "x3"), (50, "x4")):  # seeded jobs have microseconds
        make(tenant, job_id=job_id, created_at=at + timedelta(microseconds=micro))

    forward, _ = walk(manager_client, f"{BASE}/jobs/", "next")

    assert forward == [["x1", "x2"], ["x3", "x4"]]


def test_a_broken_cursor_shows_the_first_page(manager_client, many):
    response = manager_client.get(f"{BASE}/jobs/?type=AGENT_CHAT&after=not-a-cursor")

    assert ids_on(response) == many[:3]


def test_rows_in_progress_are_marked_for_the_live_update(manager_client, catalogue):
    page = manager_client.get(f"{BASE}/jobs/").content.decode()

    assert '<tr data-job-id="import-run" data-status="in_progress">' in page
    assert f'data-url="{BASE}/jobs/status.json"' in page


def test_the_status_endpoint_answers_for_the_tenants_jobs_it_is_asked_about(manager_client, catalogue):
    running = catalogue["import-run"]
    url = f"{BASE}/jobs/status.json?id=import-run&id=chat-bad&id=globex-chat&id=gone"

    before = manager_client.get(url).json()["jobs"]
    job_services.job_finish(job_pk=running.pk, status=Job.Status.FAILURE, message="The import could not be read")
    after = manager_client.get(url).json()["jobs"]

    assert set(before) == set(after) == {"import-run", "chat-bad"}
    assert before["import-run"]["status"] == "in_progress" and before["import-run"]["finishedAt"] is None
    assert after["import-run"]["status"] == "failure"
    assert after["import-run"]["message"] == "The import could not be read"
    assert after["chat-bad"]["message"] == "Could not reach the commerce API: timeout"


# --- Detail and export download -----------------------------------------------------------------------------------


def test_the_detail_shows_every_field_and_a_timeline(manager_client, tenant):
    at = now_ms() - timedelta(minutes=10)
    job = make(
        tenant,
        job_id="chat/with/slashes",
        agent_type="anti_fraud",
        agent_id="fraud-bot",
        session_id="sess-42",
        commerce_event="payment.failed",
        status=Job.Status.FAILURE,
        message="Gave up after 3 attempts",
        attempts=3,
        created_at=at,
        dispatched_at=at + timedelta(seconds=1),
        started_at=at + timedelta(seconds=30),
        finished_at=at + timedelta(seconds=90),
    )
    page = manager_client.get(f"{BASE}/jobs/chat/with/slashes/").content.decode()

    for shown in (
        "chat/with/slashes",
        "anti_fraud",
        "fraud-bot",
        "sess-42",
        "payment.failed",
        "Gave up after 3 attempts",
    ):
        assert shown in page
    timeline = page.split('<ol class="timeline">')[1].split("</ol>")[0]
    steps = ["Created", "Handed to the workers", "Started by a worker", "attempt 3", "Finished: failure"]
    positions = [timeline.index(step) for step in steps]
    assert positions == sorted(positions)
    assert f"{job.finished_at:%Y-%m-%d %H:%M:%S}" in timeline


def test_the_import_summary_is_a_table_per_section_with_state_badges_and_details(manager_client, tenant):
    result = {
        "message": "1 agent imported (disabled); 1 failed",
        "summary": {
            "agents": [
                {
                    "id": "support",
                    "name": "Support",
                    "state": "DISABLED",
                    "details": [{"code": "AGENT_IMPORTED_DISABLED", "objectId": "support", "message": "Enable it"}],
                },
            ],
            "tools": [
                {
                    "id": "slack-1",
                    "name": "Slack",
                    "state": "FAILED",
                    "details": [
                        {
                            "code": "IMPORT_FAILED",
                            "objectId": "slack-1",
                            "objectName": "Slack",
                            "message": "Could not be imported",
                        }
                    ],
                },
            ],
            "mcpServers": [],
        },
    }
    make(tenant, job_id="imp", type=Job.Type.IMPORT, status=Job.Status.SUCCESS, import_result=result)

    page = manager_client.get(f"{BASE}/jobs/imp/").content.decode()

    assert "1 agent imported (disabled); 1 failed" in page
    tables = dict(re.findall(r'data-section="(\w+)">(.*?)</table>', page, re.S))
    assert set(tables) == {"agents", "tools", "mcpServers"}
    assert 'class="badge badge-DISABLED">DISABLED' in tables["agents"]
    assert "AGENT_IMPORTED_DISABLED" in tables["agents"] and "Enable it" in tables["agents"]
    assert 'class="badge badge-FAILED">FAILED' in tables["tools"]
    assert "IMPORT_FAILED" in tables["tools"] and "Could not be imported" in tables["tools"]
    assert "None." in tables["mcpServers"]


def test_the_export_downloads_as_the_file_upstreams_console_saves(viewer_client, exported, other_tenant):
    response = viewer_client.get(f"{BASE}/jobs/export-ok/export.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="agents-export-export-ok.json"'
    saved = json.loads(response.content)
    assert list(saved) == ["exportedAt", "data", "checksum"]
    assert saved == {
        "exportedAt": format_instant(exported.finished_at),
        "data": exported.export_result["data"],
        "checksum": exported.export_result["checksum"],
    }
    assert bundle_decode(saved["data"], saved["checksum"]) == EXPORT_DOC  # and it imports as it is
    assert job_services.import_start(tenant=other_tenant, data=saved["data"], checksum=saved["checksum"])


def test_an_export_made_here_downloads_streamed_from_its_stored_bundle_and_its_page_says_its_size(
    manager_client, tenant, other_tenant
):
    data, checksum = bundle_encode(EXPORT_DOC)
    job = make(tenant, job_id="made-here", type=Job.Type.EXPORT, payload={"agentIds": ["a"]})
    job_services.job_finish(
        job_pk=job.pk, status=Job.Status.SUCCESS, export_result={"data": data, "checksum": checksum}
    )
    job.refresh_from_db()

    response = manager_client.get(f"{BASE}/jobs/made-here/export.json")
    page = manager_client.get(f"{BASE}/jobs/made-here/").content.decode()

    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="agents-export-made-here.json"'
    saved = json.loads(b"".join(response.streaming_content))
    assert saved == {"exportedAt": format_instant(job.finished_at), "data": data, "checksum": checksum}
    assert f"{len(data)} characters of data, checksum <code>{checksum}</code>" in page
    assert f"{BASE}/jobs/made-here/export.json" in page


def test_only_a_successful_export_has_a_download(manager_client, failed_export, catalogue, exported):
    assert manager_client.get(f"{BASE}/jobs/{failed_export.job_id}/export.json").status_code == 404
    assert manager_client.get(f"{BASE}/jobs/chat-ok/export.json").status_code == 404
    assert "export.json" not in manager_client.get(f"{BASE}/jobs/{failed_export.job_id}/").content.decode()
    assert f"{BASE}/jobs/export-ok/export.json" in manager_client.get(f"{BASE}/jobs/export-ok/").content.decode()


def test_a_file_name_never_carries_what_the_opaque_id_holds(manager_client, tenant, exported):
    Job.objects.filter(pk=exported.pk).update(job_id='a/b"c\\d')

    response = manager_client.get(f"{BASE}/jobs/a/b%22c%5Cd/export.json")

    assert response["Content-Disposition"] == 'attachment; filename="agents-export-a_b_c_d.json"'


# --- Delete -------------------------------------------------------------------------------------------------------


def test_deleting_a_job_asks_first_then_deletes_it_and_records_who_did_it(manager_client, manager_user, failed_export):
    confirm = manager_client.get(f"{BASE}/jobs/{failed_export.job_id}/delete")
    assert confirm.status_code == 200
    assert f'action="{BASE}/jobs/{linked(failed_export.job_id)}/delete"' in confirm.content.decode()
    assert Job.objects.filter(pk=failed_export.pk).exists()

    response = manager_client.post(f"{BASE}/jobs/{failed_export.job_id}/delete")

    assert response.status_code == 302 and response["Location"] == f"{BASE}/jobs/"
    assert not Job.objects.filter(pk=failed_export.pk).exists()
    event = AuditEvent.objects.get()
    assert (event.user, event.username, event.tenant.name) == (manager_user, "mia-manager", "acme")
    assert (event.action, event.object_id) == (AuditEvent.Action.JOB_DELETE, "exp/ort-1")
    assert event.detail == {"type": "EXPORT", "status": "failure"}


def test_bulk_delete_by_selection_counts_first_then_deletes_only_the_tenants_selected_jobs(
    manager_client, catalogue, foreign_job
):
    selection = {"mode": "selected", "id": ["chat-ok", "chat-bad", foreign_job.job_id]}

    confirm = manager_client.post(f"{BASE}/jobs/delete", selection)
    assert confirm.status_code == 200
    assert 'data-count="2"' in confirm.content.decode()
    assert Job.objects.count() == 7 and not AuditEvent.objects.exists()

    response = manager_client.post(f"{BASE}/jobs/delete", {**selection, "confirm": "yes", "until": _until(confirm)})

    assert response.status_code == 302
    assert set(Job.objects.values_list("job_id", flat=True)) == {
        "export-bad",
        "import-run",
        "chat-a1",
        "globex-chat",
        foreign_job.job_id,
    }
    event = AuditEvent.objects.get()
    assert (event.action, event.detail["count"], event.detail["mode"]) == ("jobs.bulk_delete", 2, "selected")


def _until(confirm: Any) -> str:
    found = re.search(r'name="until" value="([^"]+)"', confirm.content.decode())
    assert found
    return found.group(1)


def test_bulk_delete_by_filter_deletes_exactly_the_filtered_jobs_of_the_tenant(manager_client, catalogue, mix):
    criteria = {"status": "failure", "q": "ORDER"}
    confirm = manager_client.post(f"{BASE}/jobs/delete", {"mode": "filter", **criteria})
    assert 'data-count="1"' in confirm.content.decode()
    assert re.search(r"<strong>1 job</strong> will be deleted", confirm.content.decode())

    response = manager_client.post(
        f"{BASE}/jobs/delete", {"mode": "filter", **criteria, "confirm": "yes", "until": _until(confirm)}
    )

    assert response["Location"] == f"{BASE}/jobs/?status=failure&q=ORDER"
    remaining = set(Job.objects.values_list("job_id", flat=True))
    assert "export-bad" not in remaining
    assert {"chat-bad", "globex-chat", "g1", "j2", "j4"} <= remaining  # other failures; another tenant's "order"
    assert len(remaining) == 5 + 1 + 5 + 1 - 1
    event = AuditEvent.objects.get()
    assert event.detail == {"mode": "filter", "filter": {"status": "failure", "q": "ORDER"}, "count": 1}


def test_bulk_delete_by_filter_spares_jobs_created_after_the_count(manager_client, tenant, catalogue):
    confirm = manager_client.post(f"{BASE}/jobs/delete", {"mode": "filter", "type": "EXPORT"})
    assert 'data-count="1"' in confirm.content.decode()
    later = make(tenant, job_id="later", type=Job.Type.EXPORT, created_at=now_ms() + timedelta(seconds=5))

    manager_client.post(
        f"{BASE}/jobs/delete", {"mode": "filter", "type": "EXPORT", "confirm": "yes", "until": _until(confirm)}
    )

    assert list(Job.objects.filter(type=Job.Type.EXPORT).values_list("job_id", flat=True)) == [later.job_id]
    assert AuditEvent.objects.get().detail["count"] == 1


def test_a_delete_that_runs_out_of_time_shows_how_far_it_got_and_goes_on_where_it_stopped(
    manager_client, tenant, monkeypatch
):
    monkeypatch.setattr(services, "DELETE_BATCH", 2)
    monkeypatch.setattr(services, "DELETE_SECONDS", 0)  # one batch per request
    for i in range(5):
        make(tenant, job_id=f"t{i}", type=Job.Type.EXPORT)
    make(tenant, job_id="spared")
    data = {"mode": "filter", "type": "EXPORT", "confirm": "yes", "until": format_instant(now_ms())}

    rounds = []
    response = manager_client.post(f"{BASE}/jobs/delete", data)
    while response.status_code == 200:
        page = response.content.decode()
        rounds.append(int(re.search(r'data-deleted="(\d+)"', page).group(1)))
        assert 'name="confirm" value="yes"' in page and 'name="type" value="EXPORT"' in page
        response = manager_client.post(f"{BASE}/jobs/delete", {**data, "deleted": rounds[-1]})

    assert rounds == [2, 4]
    assert response.status_code == 302
    assert list(Job.objects.values_list("job_id", flat=True)) == ["spared"]
    events = AuditEvent.objects.order_by("pk")
    assert [e.detail["count"] for e in events] == [2, 2, 1]
    assert [e.detail.get("unfinished", False) for e in events] == [True, True, False]


def test_a_count_past_the_limit_says_more_than_and_the_delete_goes_in_batches(
    manager_client, tenant, other_tenant, monkeypatch
):
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 4)
    monkeypatch.setattr(services, "DELETE_BATCH", 2)
    at = now_ms() - timedelta(minutes=1)
    for i in range(7):
        make(tenant, job_id=f"b{i}", created_at=at)  # one instant: the batches part on the id
    make(other_tenant, job_id="b0")

    confirm = manager_client.post(f"{BASE}/jobs/delete", {"mode": "filter"})
    assert "More than 4 jobs" in confirm.content.decode()
    with CaptureQueriesContext(connection) as queries:
        manager_client.post(f"{BASE}/jobs/delete", {"mode": "filter", "confirm": "yes", "until": _until(confirm)})

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('DELETE FROM "jobs_job"')]
    assert len(deletes) == 4  # 2 + 2 + 2 + 1
    assert list(Job.objects.values_list("tenant__name", "job_id")) == [("globex", "b0")]
    assert AuditEvent.objects.get().detail["count"] == 7


@pytest.mark.parametrize(
    "data",
    [
        {"mode": "filter", "created_from": "not a date"},
        {"mode": "everything"},
        {"mode": "filter", "confirm": "yes", "until": "whenever"},
    ],
)
def test_a_bulk_delete_that_is_not_clear_deletes_nothing(manager_client, catalogue, data):
    response = manager_client.post(f"{BASE}/jobs/delete", data)

    assert response.status_code == 400
    assert Job.objects.count() == 6
    assert not AuditEvent.objects.exists()


def test_deleting_nothing_selected_goes_back_to_the_list(manager_client, catalogue):
    response = manager_client.post(f"{BASE}/jobs/delete", {"mode": "selected", "status": "failure"})

    assert response["Location"] == f"{BASE}/jobs/?status=failure"
    assert Job.objects.count() == 6


# --- Retry --------------------------------------------------------------------------------------------------------


def test_retrying_a_failed_export_starts_a_linked_job_with_the_same_payload_once_committed(
    manager_client, manager_user, failed_export, django_capture_on_commit_callbacks
):
    with (
        mock.patch("apps.jobs.tasks.job_run.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = manager_client.post(f"{BASE}/jobs/{failed_export.job_id}/retry")

    retry = Job.objects.get(retry_of=failed_export)
    assert (retry.type, retry.status, retry.payload) == ("EXPORT", "in_progress", {"agentIds": ["support"]})
    assert retry.job_id != failed_export.job_id
    assert len(callbacks) == 1
    send.assert_called_once_with(args=[retry.pk], retry=False)
    assert response["Location"] == f"{BASE}/jobs/{retry.job_id}/"
    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.object_id) == (manager_user, "job.retry", failed_export.job_id)
    assert event.detail == {"type": "EXPORT", "retryJobId": retry.job_id}
    # Each links to the other.
    assert f"{BASE}/jobs/{retry.job_id}/" in manager_client.get(f"{BASE}/jobs/{failed_export.job_id}/").content.decode()
    assert (
        f"{BASE}/jobs/{linked(failed_export.job_id)}/"
        in manager_client.get(f"{BASE}/jobs/{retry.job_id}/").content.decode()
    )


def test_a_failed_import_keeps_its_bundle_and_can_be_retried(
    manager_client, tenant, django_capture_on_commit_callbacks
):
    data, checksum = bundle_encode(EXPORT_DOC)
    job = make(tenant, job_id="imp-1", type=Job.Type.IMPORT, payload={"data": data, "checksum": checksum})
    job_services.job_finish(job_pk=job.pk, status=Job.Status.FAILURE, message="The import failed")

    with (
        mock.patch("apps.jobs.tasks.job_run.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        manager_client.post(f"{BASE}/jobs/imp-1/retry")

    retry = Job.objects.get(retry_of=job)
    assert retry.payload == {"data": data, "checksum": checksum}
    send.assert_called_once_with(args=[retry.pk], retry=False)


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"type": "EXPORT", "status": "success", "payload": {"agentIds": ["a"]}}, "Only a failed job"),
        ({"type": "EXPORT", "status": "in_progress", "payload": {"agentIds": ["a"]}}, "Only a failed job"),
        ({"type": "AGENT_CHAT", "status": "failure", "payload": {"x": 1}}, "Only exports and imports"),
        ({"type": "IMPORT", "status": "failure", "payload": None}, "no longer holds"),
    ],
)
def test_a_job_that_cannot_be_retried_is_refused_saying_why(
    manager_client, tenant, fields, reason, django_capture_on_commit_callbacks
):
    job = make(tenant, job_id="no-retry", **fields)

    with (
        mock.patch("apps.jobs.tasks.job_run.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = manager_client.post(f"{BASE}/jobs/no-retry/retry", follow=True)

    assert Job.objects.count() == 1
    send.assert_not_called()
    assert reason in response.content.decode()
    assert not AuditEvent.objects.exists()
    assert f"/jobs/{job.job_id}/retry" not in response.content.decode()  # no button where it cannot work


def test_a_second_retry_while_the_first_runs_is_refused(manager_client, failed_export):
    with mock.patch("apps.jobs.tasks.job_run.apply_async"):
        manager_client.post(f"{BASE}/jobs/{failed_export.job_id}/retry")
        response = manager_client.post(f"{BASE}/jobs/{failed_export.job_id}/retry", follow=True)

    assert Job.objects.filter(retry_of=failed_export).count() == 1
    assert "already in progress" in response.content.decode()


def test_a_retry_while_the_tenant_has_as_many_jobs_in_progress_as_it_may_is_refused_saying_so(
    manager_client, tenant, failed_export, settings
):
    settings.JOB_MAX_IN_PROGRESS_PER_TENANT = 1
    make(tenant, job_id="running", type=Job.Type.EXPORT, status="in_progress", payload={"agentIds": ["a"]})

    with mock.patch("apps.jobs.tasks.job_run.apply_async") as send:
        response = manager_client.post(f"{BASE}/jobs/{failed_export.job_id}/retry", follow=True)

    assert not Job.objects.filter(retry_of=failed_export).exists()
    send.assert_not_called()
    assert "JOB_MAX_IN_PROGRESS_PER_TENANT=1" in response.content.decode()


def test_deleting_a_retried_job_keeps_its_retry(manager_client, failed_export):
    with mock.patch("apps.jobs.tasks.job_run.apply_async"):
        manager_client.post(f"{BASE}/jobs/{failed_export.job_id}/retry")
    retry = Job.objects.get(retry_of=failed_export)

    manager_client.post(
        f"{BASE}/jobs/delete",
        {"mode": "selected", "id": [failed_export.job_id], "confirm": "yes", "until": format_instant(now_ms())},
    )

    retry.refresh_from_db()
    assert retry.retry_of is None


# --- Audit trail ----------------------------------------------------------------------------------------------


def test_the_audit_trail_lists_the_tenants_events_newest_first_in_pages(
    viewer_client, manager_user, tenant, other_tenant, monkeypatch
):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    at = now_ms()
    for i in range(5):
        AuditEvent.objects.create(
            tenant=tenant,
            user=manager_user,
            username="mia-manager",
            action="job.delete",
            object_id=f"e{i}",
            at=at - timedelta(minutes={0: 5, 1: 4, 2: 3, 3: 3, 4: 1}[i]),  # e2 and e3 tie across a page break
        )
    AuditEvent.objects.create(tenant=other_tenant, username="x", action="job.delete", object_id="globex-event")

    seen = []
    url: str | None = f"{BASE}/audit/"
    while url:
        response = viewer_client.get(url)
        seen.append(re.findall(r"<code>(e\d|globex-event)</code>", response.content.decode()))
        url = link(response, "next")

    assert seen == [["e4", "e3"], ["e2", "e1"], ["e0"]]
    assert "Deleted a job" in response.content.decode() and "mia-manager" in response.content.decode()

"""The console's job detail page and the download of an export."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from apps.agents.bundle import bundle_decode, bundle_encode
from apps.core.timefmt import format_instant, now_ms
from apps.jobs import services as job_services
from apps.jobs.models import Job
from tests.console.jobs.helpers import (
    BASE,
    EXPORT_DOC,
    make,
)


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

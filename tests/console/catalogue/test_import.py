"""The console's import page: the file, its preview (which writes nothing), and the import job it starts."""

from __future__ import annotations

import json
import re
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from apps.accounts.models import ApiClient
from apps.agents.bundle import bundle_decode
from apps.audit.models import AuditEvent
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.agents.conftest import (
    Catalogue,
    agent_body,
)
from tests.console.catalogue.helpers import (
    ROOT,
)
from tests.console.catalogue_fixtures import (
    LONG_ID,
    export_file,
    html,
    page,
    page_errors,
    preview_document,
    preview_states,
    saved_export,
    snapshot,
)


def preview(client: Client, content: dict[str, Any] | bytes) -> Any:
    return client.post(page("import/preview"), {"bundle": export_file(content)})


def test_the_import_page_offers_a_drop_zone_and_a_file_input(world: ApiClient, manager_client: Client):
    text = html(manager_client.get(page("import/")))

    assert 'class="dropzone"' in text and 'type="file" name="bundle"' in text
    assert 'enctype="multipart/form-data"' in text and "console/import.js" in text
    assert 'addEventListener("drop"' in (ROOT / "static" / "console" / "import.js").read_text()


def test_the_preview_shows_the_state_of_every_entity_and_writes_nothing(world: ApiClient, manager_client: Client):
    before = snapshot()

    response = preview(manager_client, saved_export(preview_document()))

    assert response.status_code == 200, page_errors(html(response))
    assert snapshot() == before
    states = preview_states(html(response))
    assert states["tools"] == {"tool1": "EXISTS", "newtool": "ENABLED", "needs-key": "DISABLED", "slack1": "TO_CREATE"}
    assert states["mcpServers"] == {LONG_ID: "FAILED"}
    agents = states["agents"]
    assert agents.pop("fresh") == "DISABLED"
    (renamed, state), *others = agents.items()
    assert re.fullmatch(r"[0-9a-f]{24}", renamed) and state == "DISABLED" and not others
    text = html(response)
    assert "MISSING_TOKEN" in text and "NOT_IMPORTABLE" in text and "ALREADY_EXISTS" in text
    assert "Nothing has been written yet." in text


@pytest.mark.django_db(transaction=True)
def test_the_preview_commits_nothing_outside_a_test_transaction(
    tenant: Tenant, other_tenant: Tenant, manager_client: Client
):
    Catalogue(tenant)
    before = snapshot()

    response = preview(manager_client, saved_export(preview_document()))

    assert response.status_code == 200
    assert preview_states(html(response))["tools"]["newtool"] == "ENABLED"
    assert snapshot() == before


def test_the_preview_carries_the_bundle_to_the_import_button(world: ApiClient, manager_client: Client):
    saved = saved_export(preview_document())

    text = html(preview(manager_client, saved))

    carried = dict(re.findall(r'<input type="hidden" name="(bundle_data|checksum)" value="([^"]*)"', text))
    assert carried == {"bundle_data": saved["data"], "checksum": saved["checksum"]}
    assert 'action="/console/acme/import/confirm"' in text


@pytest.mark.parametrize(
    "content, problem",
    [
        (saved_export(preview_document(), checksum="0" * 64), "checksum does not match data"),
        (saved_export(preview_document(), data="bm90IGpzb24="), "checksum does not match data"),
        ({"exportedAt": "2025-03-01T10:00:00.000Z"}, "data is required"),
        (b"\x89PNG not an export", "This is not an export file"),
        (b"[1, 2]", "This is not an export file"),
        (saved_export({"formatVersion": 1, "agents": []}), "The export holds no agents."),
    ],
)
def test_a_bad_file_is_refused_with_the_reason_before_any_preview(
    content: Any, problem: str, world: ApiClient, manager_client: Client
):
    before = snapshot()

    response = preview(manager_client, content)

    assert response.status_code == 400
    assert any(problem in error for error in page_errors(html(response))), page_errors(html(response))
    assert "data-section" not in html(response)
    assert snapshot() == before


def test_a_file_larger_than_an_import_takes_is_refused_naming_the_limit(
    world: ApiClient, manager_client: Client, settings: Any
):
    settings.IMPORT_MAX_BYTES = 64 * 1024

    response = preview(manager_client, saved_export(preview_document(), padding="x" * 100_000))

    assert response.status_code == 400
    errors = page_errors(html(response))
    assert any("larger than an import takes (65536 bytes, IMPORT_MAX_BYTES)" in error for error in errors), errors


def test_a_4_mb_export_file_is_previewed_and_imported_through_the_console(
    world: ApiClient, manager_client: Client, tenant: Tenant, broker: mock.Mock
):
    document = {"formatVersion": 1, "agents": [{"id": "big", **agent_body("t1", userPrompt="Be kind. " * 350_000)}]}
    saved = saved_export(document)
    assert len(json.dumps(saved)) > 4_000_000

    previewed = preview(manager_client, saved)

    assert previewed.status_code == 200, page_errors(html(previewed))
    assert preview_states(html(previewed))["agents"] == {"big": "DISABLED"}
    confirmed = manager_client.post(
        page("import/confirm"), {"bundle_data": saved["data"], "checksum": saved["checksum"]}
    )
    assert confirmed.status_code == 302, page_errors(html(confirmed))
    job = Job.objects.get(tenant=tenant, type=Job.Type.IMPORT)
    assert job.payload == {"data": saved["data"], "checksum": saved["checksum"]}


def test_an_upload_over_the_limit_answers_413_saying_what_the_limit_is(
    world: ApiClient, manager_client: Client, settings: Any
):
    settings.IMPORT_MAX_BYTES = 64 * 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 + 64 * 1024
    before = snapshot()

    response = preview(manager_client, saved_export(preview_document(), padding="x" * 200_000))

    assert response.status_code == 413
    assert "IMPORT_MAX_BYTES" in html(response) and "0.1 MiB (65536 bytes)" in html(response)
    assert snapshot() == before


def test_the_import_button_starts_an_import_job_of_the_previewed_bundle(
    world: ApiClient, manager_client: Client, tenant: Tenant, broker: mock.Mock, django_capture_on_commit_callbacks: Any
):
    saved = saved_export(preview_document())
    before = snapshot()

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            page("import/confirm"), {"bundle_data": saved["data"], "checksum": saved["checksum"]}
        )

    job = Job.objects.get(tenant=tenant)
    assert (job.type, job.payload) == (Job.Type.IMPORT, {"data": saved["data"], "checksum": saved["checksum"]})
    assert response.status_code == 302 and response["Location"] == f"/console/acme/jobs/{job.job_id}/"
    broker.assert_called_once_with(args=[job.pk], queue="celery", countdown=None, retry=False)
    event = AuditEvent.objects.get(action=AuditEvent.Action.AGENTS_IMPORT)
    assert (event.object_id, event.detail) == (job.job_id, {"agentIds": ["a1", "fresh"], "agents": 2})
    # The job does the importing, not the page.
    assert {k: v for k, v in snapshot().items() if k not in ("jobs", "audit")} == {
        k: v for k, v in before.items() if k not in ("jobs", "audit")
    }


def test_a_bundle_changed_between_preview_and_import_is_refused(
    world: ApiClient, manager_client: Client, broker: mock.Mock
):
    saved = saved_export(preview_document())
    document = bundle_decode(saved["data"], saved["checksum"])
    document["agents"][0]["userPrompt"] = "Tampered."
    tampered = saved_export(document)  # a valid bundle, with the other checksum

    response = manager_client.post(
        page("import/confirm"), {"bundle_data": tampered["data"], "checksum": saved["checksum"]}
    )

    assert response.status_code == 400
    assert any("checksum does not match data" in error for error in page_errors(html(response)))
    assert not Job.objects.exists() and not AuditEvent.objects.exists()
    broker.assert_not_called()

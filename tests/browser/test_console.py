"""The console in a real browser: a manager signs in through the sign-in form and works with acme's jobs; a viewer
sees but cannot act; a manager of another tenant finds nothing of acme's. The data is tests/browser/conftest.py's
`console_data`."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from playwright.sync_api import Page, expect

from apps.accounts.models import OidcIdentity
from apps.accounts.provider_keys import ProviderKeys
from apps.agents.bundle import bundle_decode
from apps.jobs.models import Job
from tests.browser.conftest import ConsoleData, signed_in
from tests.oidc_provider import CONSOLE_CLIENT_ID, CONSOLE_CLIENT_SECRET, PASSWORDS, OidcProvider

ACME = "/console/acme"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def job_rows(page: Page) -> Any:
    return page.locator("table.jobs tbody tr[data-job-id]")


def field(page: Page, label: str) -> Any:
    """The value of a job's field on its page (the <dd> after the <dt> with that label)."""
    return page.locator(
        f"xpath=//dl[contains(@class, 'fields')]/dt[normalize-space()='{label}']/following-sibling::dd[1]"
    )


def test_a_manager_signs_in_and_the_dashboard_shows_the_counts(
    page: Page, manager_user: AbstractBaseUser, console_data: ConsoleData
) -> None:
    signed_in(page, manager_user)

    expect(page).to_have_url(re.compile(rf"{ACME}/$"))  # a member of one tenant lands on its dashboard
    expect(page.get_by_role("heading", name="Jobs of acme")).to_be_visible()
    counts = page.locator("#job-counts")
    expect(counts.locator('[data-count="total"]')).to_have_text("22")
    for status in Job.Status.values:
        expect(counts.locator(f'[data-count="status:{status}"]')).to_have_text(str(console_data.count(status=status)))
    expect(page.locator('[data-count="type:AGENT_CHAT"]')).to_have_text("18")
    expect(page.locator('[data-count="EXPORT:failure"]')).to_have_text("1")
    # Recent failures come first, newest first, with their messages.
    failures = page.locator("table.jobs").first.locator("tbody tr[data-job-id]")
    expect(failures).to_have_count(console_data.count(status=Job.Status.FAILURE))
    expect(failures.first).to_contain_text("The bundle's checksum does not match its data")


def test_the_job_list_filters_by_status_and_opens_a_job(
    page: Page, manager_user: AbstractBaseUser, console_data: ConsoleData
) -> None:
    signed_in(page, manager_user)
    page.get_by_role("navigation", name="Tenant").get_by_role("link", name="Jobs").click()
    expect(job_rows(page)).to_have_count(22)

    page.get_by_label("Status").select_option("failure")
    page.get_by_role("button", name="Filter", exact=True).click()

    expect(page).to_have_url(re.compile(r"status=failure"))
    expect(job_rows(page)).to_have_count(5)
    for status in job_rows(page).evaluate_all("rows => rows.map(row => row.dataset.status)"):
        assert status == "failure"
    expect(page.locator("table.jobs")).to_contain_text("The model provider did not answer within 30 s")

    job = console_data.failed_export
    page.get_by_role("link", name=job.job_id).click()

    expect(page).to_have_url(re.compile(rf"{ACME}/jobs/{job.job_id}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"EXPORT job {job.job_id}")
    expect(field(page, "Id")).to_have_text(job.job_id)
    expect(field(page, "Type")).to_have_text("EXPORT")
    expect(field(page, "Status")).to_have_text("failure")
    expect(field(page, "Message")).to_have_text("The export failed: the agent returns-desk does not exist")
    expect(field(page, "Asked to do")).to_contain_text("export the agents s-agent-0, returns-desk")
    expect(field(page, "Created")).to_have_text("2025-03-03 13:23:13.000 UTC")
    expect(page.locator("ol.timeline li")).to_have_count(4)
    expect(page.get_by_role("button", name="Retry this export")).to_be_visible()


def test_a_manager_deletes_a_job_after_confirming(
    page: Page, manager_user: AbstractBaseUser, console_data: ConsoleData
) -> None:
    job = console_data.jobs[0]
    signed_in(page, manager_user)
    page.goto(f"{ACME}/jobs/{job.job_id}/")

    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Delete job {job.job_id}?")
    assert Job.objects.filter(pk=job.pk).exists()  # asking wrote nothing
    page.get_by_role("button", name="Delete the job").click()

    expect(page).to_have_url(re.compile(rf"{ACME}/jobs/$"))
    expect(page.locator("ul.messages")).to_have_text(f"Deleted job {job.job_id}.")
    expect(job_rows(page)).to_have_count(21)
    expect(page.locator(f'tr[data-job-id="{job.job_id}"]')).to_have_count(0)
    assert page.goto(f"{ACME}/jobs/{job.job_id}/").status == 404
    assert not Job.objects.filter(pk=job.pk).exists()


def test_a_manager_deletes_every_job_the_filter_matches_after_seeing_how_many(
    page: Page, manager_user: AbstractBaseUser, console_data: ConsoleData
) -> None:
    signed_in(page, manager_user)
    page.goto(f"{ACME}/jobs/?status=failure")
    expect(job_rows(page)).to_have_count(5)

    page.get_by_role("button", name="Delete all jobs matching the filter…").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Delete jobs")
    expect(page.locator("p.count")).to_have_text("5 jobs will be deleted.")
    expect(page.locator("dl.fields")).to_contain_text("failure")
    assert Job.objects.filter(tenant=console_data.tenant).count() == 22  # counting wrote nothing
    page.get_by_role("button", name="Delete the 5 jobs").click()

    expect(page).to_have_url(re.compile(rf"{ACME}/jobs/\?status=failure$"))
    expect(page.locator("ul.messages")).to_have_text("Deleted 5 jobs.")
    expect(page.get_by_text("No jobs match.")).to_be_visible()
    page.get_by_role("link", name="Reset").click()
    expect(job_rows(page)).to_have_count(17)
    assert not Job.objects.filter(tenant=console_data.tenant, status=Job.Status.FAILURE).exists()
    assert Job.objects.filter(tenant=console_data.other_tenant).count() == 3


def test_a_manager_imports_a_saved_export_after_a_preview(
    page: Page, manager_user: AbstractBaseUser, console_data: ConsoleData
) -> None:
    signed_in(page, manager_user)
    page.get_by_role("navigation", name="Tenant").get_by_role("link", name="Import").click()

    page.locator("[data-dropzone] input[type=file]").set_input_files(
        files=[{"name": "agents-export.json", "mimeType": "application/json", "buffer": console_data.bundle_file}]
    )
    expect(page.locator("[data-file-name]")).to_have_text("Chosen: agents-export.json")
    page.get_by_role("button", name="Preview the import").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Import preview")
    expect(page.get_by_text("Nothing has been written yet.")).to_be_visible()
    shown = {
        section: page.locator(f'section[data-section="{section}"] tr[data-entry-id]').evaluate_all(
            "rows => Object.fromEntries(rows.map(row => [row.dataset.entryId, row.dataset.state]))"
        )
        for section in ("agents", "tools", "mcpServers")
    }
    assert shown == {
        "agents": {"s-agent-1": "DISABLED", "s-agent-2": "DISABLED"},
        "tools": {
            **{f"s-tool-{n}-{t}": "ENABLED" for n in (1, 2) for t in range(3)},
            "s-tool-0-0": "EXISTS",
            "catalogue-search": "DISABLED",
            "slack-support": "TO_CREATE",
        },
        "mcpServers": {f"s-mcp-{n}-{s}": "ENABLED" for n in (1, 2) for s in range(2)},
    }
    expect(page.locator('section[data-section="tools"] h2')).to_contain_text("6 ENABLED")
    assert Job.objects.filter(tenant=console_data.tenant).count() == 22  # the preview wrote nothing

    page.get_by_role("button", name="Import", exact=True).click()

    expect(page).to_have_url(re.compile(rf"{ACME}/jobs/[0-9a-f]{{24}}/$"))
    job = Job.objects.exclude(pk__in=[j.pk for j in console_data.jobs]).get(tenant=console_data.tenant)
    assert job.type == Job.Type.IMPORT
    expect(page.locator("ul.messages")).to_have_text(f"Started job {job.job_id} to import the bundle.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"IMPORT job {job.job_id}")


def test_a_manager_downloads_an_export_as_the_file_upstream_saves(
    page: Page, manager_user: AbstractBaseUser, console_data: ConsoleData
) -> None:
    job = console_data.export_job
    signed_in(page, manager_user)
    page.goto(f"{ACME}/jobs/{job.job_id}/")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the export").click()

    download = download_info.value
    assert download.suggested_filename == f"agents-export-{job.job_id}.json"
    saved = json.loads(Path(download.path()).read_text())
    assert set(saved) == {"exportedAt", "data", "checksum"}
    assert saved["exportedAt"] == "2025-03-03T13:06:27.000Z"
    assert [agent["id"] for agent in bundle_decode(saved["data"], saved["checksum"])["agents"]] == ["s-agent-0"]


def test_a_job_in_progress_changes_on_its_page_without_a_reload(
    page: Page, manager_user: AbstractBaseUser, console_data: ConsoleData
) -> None:
    job = console_data.running_chat
    signed_in(page, manager_user)
    page.goto(f"{ACME}/jobs/{job.job_id}/")
    expect(field(page, "Status")).to_have_text("in_progress")

    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCESS, message="Answered after all")

    heading = page.get_by_role("heading", level=1)
    expect(heading.locator(".badge")).to_have_text("success", timeout=6_000)
    expect(field(page, "Status")).to_have_text("success")
    expect(field(page, "Message")).to_have_text("Answered after all")
    # The page itself is drawn again: its timeline ends with the outcome, no "Reload" hint is needed.
    expect(page.locator("ol.timeline")).to_contain_text("Finished: success")
    expect(page.get_by_text("This job has changed.")).to_be_hidden()


def test_the_dashboard_counts_follow_new_jobs_without_a_reload(
    page: Page, manager_user: AbstractBaseUser, console_data: ConsoleData
) -> None:
    signed_in(page, manager_user)
    expect(page.locator('[data-count="total"]')).to_have_text("22")

    Job.objects.create(tenant=console_data.tenant, type=Job.Type.EXPORT, status=Job.Status.FAILURE, message="late")

    expect(page.locator('[data-count="total"]')).to_have_text("23", timeout=12_000)
    expect(page.locator('[data-count="EXPORT:failure"]')).to_have_text("2")


def test_a_viewer_sees_the_jobs_but_no_action(
    page: Page, viewer_user: AbstractBaseUser, console_data: ConsoleData
) -> None:
    signed_in(page, viewer_user)
    expect(page.locator(".tenant-name .role")).to_have_text("viewer")

    page.goto(f"{ACME}/jobs/")
    expect(job_rows(page)).to_have_count(22)
    expect(page.get_by_role("button", name=re.compile("Delete"))).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_count(0)

    page.goto(f"{ACME}/jobs/{console_data.failed_export.job_id}/")
    expect(field(page, "Status")).to_have_text("failure")
    expect(page.locator(".actions").get_by_role("link")).to_have_count(0)
    expect(page.locator(".actions").get_by_role("button")).to_have_count(0)

    page.goto(f"{ACME}/jobs/{console_data.export_job.job_id}/")
    expect(page.get_by_role("link", name="Download the export")).to_be_visible()  # reading is allowed
    expect(page.get_by_role("link", name="Delete…")).to_have_count(0)

    page.goto(f"{ACME}/agents/")
    expect(page.get_by_role("link", name="Support agent 0")).to_be_visible()
    expect(page.get_by_role("link", name="New agent")).to_have_count(0)
    expect(page.get_by_role("button", name="Export selected")).to_have_count(0)

    page.goto(f"{ACME}/import/")
    expect(page.get_by_text("Viewers can look but not import")).to_be_visible()
    expect(page.locator("input[type=file]")).to_have_count(0)

    assert page.goto(f"{ACME}/jobs/{console_data.jobs[0].job_id}/delete").status == 403


def test_an_outsider_finds_nothing_of_the_tenant(
    page: Page, outsider_user: AbstractBaseUser, console_data: ConsoleData
) -> None:
    signed_in(page, outsider_user)
    expect(page).to_have_url(re.compile(r"/console/globex/$"))  # their own tenant
    expect(page.locator('[data-count="total"]')).to_have_text("3")

    job_id = console_data.jobs[0].job_id
    for path in (
        "/",
        "/jobs/",
        "/jobs/?status=failure",
        f"/jobs/{job_id}/",
        f"/jobs/{console_data.export_job.job_id}/export.json",
        f"/jobs/{job_id}/delete",
        "/import/",
        "/agents/",
        "/agents/s-agent-0/",
        "/audit/",
    ):
        response = page.goto(f"{ACME}{path}")
        assert response is not None and response.status == 404, path
    # acme's job under their own tenant is not found either.
    assert page.goto(f"/console/globex/jobs/{job_id}/").status == 404


@pytest.fixture
def console_with_provider(settings: Any, oidc_provider: OidcProvider) -> Iterator[OidcProvider]:
    """The console signing in at the suite's OpenID provider (tests/oidc_provider/), local passwords still on."""
    settings.OIDC_OP_ISSUER = oidc_provider.issuer
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CONSOLE_CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CONSOLE_CLIENT_SECRET
    settings.AUTHENTICATION_BACKENDS = [
        "apps.accounts.oidc.ConsoleOidcBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    ProviderKeys.forget_all()  # this provider's discovery document and keys, not cached ones
    yield oidc_provider
    ProviderKeys.forget_all()


def test_a_manager_signs_in_at_the_provider_and_out_again(
    page: Page, console_with_provider: OidcProvider, console_data: ConsoleData, live_server: Any
) -> None:
    page.goto("/console/")
    page.locator("#oidc-sign-in").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(console_with_provider.issuer)}/interaction/"))
    page.get_by_label("Login").fill("manager")
    page.get_by_label("Password").fill(PASSWORDS["manager"])
    page.get_by_role("button", name="Sign in").click()

    # Back at the console, as the provider's manager of acme (the roles claim), on acme's dashboard.
    expect(page).to_have_url(re.compile(rf"{ACME}/$"))
    expect(page.locator(".tenant-name .role")).to_have_text("manager")
    expect(page.locator('[data-count="total"]')).to_have_text("22")
    assert OidcIdentity.objects.get(subject="manager-sub").user.memberships.get().tenant.name == "acme"

    page.get_by_role("button", name="Sign out").click()  # ends the provider's session too, and comes back

    expect(page).to_have_url(f"{live_server.url}/")
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/login/\?next=/console/$"))
    page.locator("#oidc-sign-in").click()
    expect(page.get_by_label("Login")).to_be_visible()  # the provider asks again: its session is over


@pytest.mark.screenshots
def test_screenshots_of_the_main_pages(
    page: Page, manager_user: AbstractBaseUser, console_data: ConsoleData, tmp_path: Path
) -> None:
    """The README's screenshots, 1280x800: written to docs/screenshots with SCREENSHOTS=1, to a temporary folder
    otherwise (the pages are still rendered and checked)."""
    folder = SCREENSHOTS if os.environ.get("SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    signed_in(page, manager_user)

    # No caret, no animation or transition, no hover: the same pixels every run. (The page's policy refuses an
    # injected style tag, and the screenshot's own options do it.)
    def shoot(name: str) -> None:
        page.mouse.move(0, 0)
        page.screenshot(path=folder / f"{name}.png", animations="disabled", caret="hide")
        assert (folder / f"{name}.png").stat().st_size > 10_000

    page.goto(f"{ACME}/")
    expect(page.locator('[data-count="total"]')).to_have_text("22")
    shoot("dashboard")

    page.goto(f"{ACME}/jobs/")
    expect(job_rows(page)).to_have_count(22)
    shoot("job-list")

    page.goto(f"{ACME}/jobs/{console_data.import_job.job_id}/")
    expect(page.locator('table.import-summary[data-section="tools"] .badge-EXISTS')).to_be_visible()
    # The summary is below the fields: the picture starts at the timeline, with the summary's tables under it.
    page.get_by_role("heading", name="Timeline").evaluate("h => window.scrollTo(0, h.offsetTop - 16)")
    shoot("job-detail")

    page.goto(f"{ACME}/import/")
    page.locator("[data-dropzone] input[type=file]").set_input_files(
        files=[{"name": "agents-export.json", "mimeType": "application/json", "buffer": console_data.bundle_file}]
    )
    page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import preview")
    shoot("import-preview")

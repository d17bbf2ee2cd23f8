"""Pages that stay true: a job's page follows the job to its end without a reload, and every main console page fits
a 360 px wide screen. The data is tests/browser/conftest.py's `console_data`."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from playwright.sync_api import Page, expect

from apps.jobs.models import Job
from tests.browser.conftest import ConsoleData, signed_in
from tests.worker import purge_broker, thread_worker

ACME = "/console/acme"
PHONE = {"width": 360, "height": 740}


def timeline(page: Page) -> Any:
    return page.locator("ol.timeline")


@pytest.fixture
def refused(page: Page) -> list[str]:
    """What the browser refused because of the Content-Security-Policy: drawing a page again must need nothing."""
    found: list[str] = []
    page.on(
        "console", lambda message: found.append(message.text) if "Content Security Policy" in message.text else None
    )
    return found


def test_a_job_page_open_while_a_real_worker_imports_shows_the_result_without_a_reload(
    page: Page, manager_user: AbstractBaseUser, console_data: ConsoleData, refused: list[str]
) -> None:
    purge_broker()  # the import's task must be the only message the worker finds
    signed_in(page, manager_user)
    page.goto(f"{ACME}/import/")
    page.locator("[data-dropzone] input[type=file]").set_input_files(
        files=[{"name": "agents-export.json", "mimeType": "application/json", "buffer": console_data.bundle_file}]
    )
    page.get_by_role("button", name="Preview the import").click()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page).to_have_url(re.compile(rf"{ACME}/jobs/[0-9a-f]{{24}}/$"))
    heading = page.get_by_role("heading", level=1)
    expect(heading.locator(".badge")).to_have_text("in_progress")
    expect(timeline(page)).to_contain_text("Waiting for a worker")
    expect(page.get_by_role("heading", name="Import summary")).to_have_count(0)
    page.evaluate("window.notReloaded = true")  # gone if the page were loaded again

    with thread_worker(purge=False):
        expect(heading.locator(".badge")).to_have_text("success", timeout=20_000)

    expect(timeline(page)).not_to_contain_text("Waiting for a worker")
    expect(timeline(page)).to_contain_text("Started by a worker")
    expect(timeline(page)).to_contain_text("Finished: success")
    expect(page.get_by_role("heading", name="Import summary")).to_be_visible()
    expect(page.locator('table.import-summary[data-section="agents"] tbody tr')).to_have_count(2)
    expect(page.get_by_text("This job has changed.")).to_be_hidden()
    assert page.evaluate("window.notReloaded") is True
    job = Job.objects.exclude(pk__in=[j.pk for j in console_data.jobs]).get(tenant=console_data.tenant)
    assert job.status == Job.Status.SUCCESS and page.url.endswith(f"/jobs/{job.job_id}/")
    assert refused == []


def test_a_run_that_fails_elsewhere_shows_why_and_the_rerun_button_without_a_reload(
    page: Page, manager_user: AbstractBaseUser, console_data: ConsoleData, refused: list[str]
) -> None:
    job = console_data.running_chat
    Job.objects.filter(pk=job.pk).update(payload={"message": "Where is my order 10482?"})
    signed_in(page, manager_user)
    page.goto(f"{ACME}/jobs/{job.job_id}/")
    expect(timeline(page)).to_contain_text("Running")
    expect(page.get_by_role("button", name="Rerun this agent run")).to_have_count(0)
    page.evaluate("window.notReloaded = true")

    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILURE, message="The model did not answer")

    heading = page.get_by_role("heading", level=1)
    expect(heading.locator(".badge")).to_have_text("failure", timeout=6_000)
    expect(timeline(page)).to_contain_text("Finished: failure")
    expect(timeline(page)).not_to_contain_text("Running")
    expect(page.locator("dd[data-cell='message']")).to_have_text("The model did not answer")
    expect(page.get_by_role("button", name="Rerun this agent run")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    assert refused == []


# --- 360 px ----------------------------------------------------------------------------------------------------------


# The elements that reach past the right edge of the screen, outside any scroll container: what to fix when the test
# fails.
WIDER_THAN_THE_SCREEN = """() => {
  const inScroller = (el) => {
    for (let up = el.parentElement; up; up = up.parentElement) {
      if (["auto", "scroll"].includes(getComputedStyle(up).overflowX)) return true;
    }
    return false;
  };
  return Array.from(document.body.querySelectorAll("*"))
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 && !inScroller(el))
    .map((el) => el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ").join(".") : ""))
    .slice(0, 8);
}"""


def overflow(page: Page) -> dict[str, Any]:
    """How wide the document is against the viewport: only a table's own scroll container may be wider."""
    size: dict[str, Any] = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, viewport: window.innerWidth})"
    )
    if size["scroll"] > size["viewport"]:
        size["wider"] = page.evaluate(WIDER_THAN_THE_SCREEN)
    return size


@pytest.fixture
def admin_user(make_user: Any, console_data: ConsoleData) -> AbstractBaseUser:
    user: AbstractBaseUser = make_user("ada-admin", superuser=True)
    return user


def test_the_main_console_pages_fit_a_360_px_screen(
    page: Page, admin_user: AbstractBaseUser, console_data: ConsoleData, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.ops import workers

    monkeypatch.setattr(workers, "ask_workers", list)  # the page is drawn without asking any worker
    page.set_viewport_size(PHONE)
    signed_in(page, admin_user)
    job = console_data.import_job
    paths = [
        "/console/",
        f"{ACME}/",
        f"{ACME}/jobs/",
        f"{ACME}/jobs/{job.job_id}/",
        f"{ACME}/jobs/{console_data.running_chat.job_id}/",
        f"{ACME}/agents/",
        f"{ACME}/agents/s-agent-0/",
        f"{ACME}/agents/s-agent-0/edit",  # a form
        f"{ACME}/import/",
        f"{ACME}/members/",
        f"{ACME}/events/",
        f"{ACME}/queue/",
        "/console/workers/",
    ]
    too_wide = {}
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        size = overflow(page)
        if size["scroll"] > size["viewport"]:
            too_wide[path] = size
    assert too_wide == {}
    # The navigation wraps rather than runs off the screen: its last link is on screen.
    page.goto(f"{ACME}/jobs/")
    last = page.get_by_role("navigation", name="Tenant").get_by_role("link").last
    expect(last).to_have_text("Queue")
    box = last.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]

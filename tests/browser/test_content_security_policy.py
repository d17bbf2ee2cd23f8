"""The console and the API docs in a real browser under the Content-Security-Policy: nothing is refused, the page
scripts still run, and Swagger UI draws the API from the package's own copy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import ConsoleData, signed_in

ACME = "/console/acme"


@pytest.fixture
def violations(page: Page) -> Iterator[list[str]]:
    """What the browser refused because of the policy, as it reports it on the console."""
    refused: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", record)
    yield refused


def test_the_console_pages_run_their_scripts_with_nothing_refused(
    page: Page, manager_user: AbstractBaseUser, console_data: ConsoleData, violations: list[str]
) -> None:
    signed_in(page, manager_user)

    for path in ("/", "/jobs/", "/agents/", "/tools/", "/import/", "/clients/", "/audit/"):
        page.goto(f"{ACME}{path}")
        page.wait_for_load_state("networkidle")
    page.goto(f"{ACME}/jobs/")
    select_all = page.locator("[data-select-all]")
    select_all.check()  # the select-all script, now a static file, still ticks every row

    expect(page.locator('input[name="id"][form="bulk"]:not(:checked)')).to_have_count(0)
    assert violations == []


def test_the_api_docs_draw_offline_from_the_package_with_nothing_refused(
    page: Page, violations: list[str], live_server: Any
) -> None:
    other_origins: list[str] = []
    page.on("request", lambda request: _note_other_origin(other_origins, live_server.url, request.url))

    page.goto("/api/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("AI Service Console API")
    expect(page.locator(".opblock-tag").first).to_be_visible()
    assert violations == []
    assert other_origins == []


def _note_other_origin(found: list[str], origin: str, url: str) -> None:
    if not url.startswith((f"{origin}/", "data:", "blob:")):
        found.append(url)

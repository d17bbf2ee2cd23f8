"""The Content-Security-Policy (django-csp): on every console page, the sign-in page, error pages and the API docs;
nothing loaded from another origin; no inline code left in templates/ and static/ for the policy to block."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apps.accounts.models import ApiClient
from apps.jobs.models import Job
from apps.tenants.models import Membership, Tenant
from tests.agents.conftest import Catalogue
from tests.console.catalogue_fixtures import READ_PAGES, WRITE_PAGES, make_api_client, page

ROOT = Path(__file__).resolve().parent.parent.parent
JOB_PAGES = ["", "jobs/", "jobs/job-1/", "jobs/job-1/delete", "audit/"]
# Console URLs that are not pages: JSON for the page scripts, downloads, and form targets that only take a POST.
NOT_PAGES = {
    "dashboard-counts",
    "job-statuses",
    "job-export",
    "jobs-bulk-delete",
    "job-retry",
    "job-cancel",
    "agents-export",
    "agents-try",
    "agents-enable",
    "tools-enable",
    "mcp-servers-enable",
    "import-preview",
    "import-confirm",
    "member-add",
    "member-role",
    "events-secret",  # shows the secret in answer to its POST only
    "login-new-password",  # a page only in the middle of a sign-in with a one-time password
}


def policy(response: Any) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


def assert_strict(response: Any) -> None:
    directives = policy(response)
    assert directives.get("default-src") == ["'self'"]
    assert directives.get("script-src") == ["'self'"]
    assert directives.get("style-src") == ["'self'"]
    assert directives.get("object-src") == ["'none'"]
    assert directives.get("frame-ancestors") == ["'none'"]
    assert directives.get("base-uri") == ["'none'"]


@pytest.fixture
def world(tenant: Tenant) -> ApiClient:
    Catalogue(tenant)
    colleague = get_user_model().objects.create_user(username="cole", password="a long password for cole")
    Membership.objects.create(user=colleague, tenant=tenant, role=Membership.Role.VIEWER)
    Job.objects.create(tenant=tenant, job_id="job-1", type=Job.Type.EXPORT, status=Job.Status.SUCCESS)
    return make_api_client(tenant)


@pytest.mark.parametrize("path", JOB_PAGES + READ_PAGES + WRITE_PAGES)
def test_every_console_page_carries_the_strict_policy(path: str, world: ApiClient, manager_client: Client) -> None:
    response = manager_client.get(page(path, world.client_id))

    assert response.status_code == 200
    assert_strict(response)


def test_the_pages_tested_are_every_console_page_there_is() -> None:
    """A console page added later must be added to the lists above (or to NOT_PAGES)."""
    tested = {
        name
        for name in _console_url_names()
        if name not in NOT_PAGES and name not in {"home"} and not name.startswith(("dashboard", "jobs", "job-"))
    }
    catalogue_names = {
        "agents",
        "agents-new",
        "agents-detail",
        "agents-edit",
        "agents-delete",
        "tools",
        "tools-new",
        "tools-detail",
        "tools-edit",
        "tools-delete",
        "mcp-servers",
        "mcp-servers-new",
        "mcp-servers-detail",
        "mcp-servers-edit",
        "mcp-servers-delete",
        "tokens",
        "tokens-new",
        "tokens-detail",
        "tokens-edit",
        "tokens-delete",
        "import",
        "clients",
        "client-new",
        "client-revoke",
        "audit",
        "members",
        "member-password",
        "member-remove",
        "events",
        "events-rotate",
        "login",
        "workers",
        "queue",
    }
    assert tested == catalogue_names
    assert {name for name in _console_url_names() if name.startswith(("dashboard", "jobs", "job-"))} - NOT_PAGES == {
        "dashboard",
        "jobs",
        "job-detail",
        "job-delete",
    }


def _console_url_names() -> set[str]:
    resolver = get_resolver().namespace_dict["console"][1]
    return set(_names(resolver))


def _names(resolver: URLResolver) -> list[str]:
    names: list[str] = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            names.extend(_names(pattern))
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.append(pattern.name)
    return names


@pytest.mark.parametrize("action", ["password", "remove"])
def test_the_members_pages_carry_the_strict_policy(action: str, world: ApiClient, manager_client: Client) -> None:
    colleague = get_user_model().objects.get(username="cole")
    for path in ("/console/acme/members/", f"/console/acme/members/{colleague.pk}/{action}"):
        response = manager_client.get(path)

        assert response.status_code == 200
        assert_strict(response)


def test_the_commerce_events_pages_carry_the_strict_policy(world: ApiClient, manager_client: Client) -> None:
    for response in (
        manager_client.get("/console/acme/events/"),
        manager_client.get("/console/acme/events/rotate"),
        manager_client.post("/console/acme/events/secret"),
    ):
        assert response.status_code == 200
        assert_strict(response)


def test_the_workers_page_carries_the_strict_policy(platform_admin_client: Client) -> None:
    response = platform_admin_client.get("/console/workers/")

    assert response.status_code == 200
    assert_strict(response)


def test_a_tenants_queue_page_carries_the_strict_policy(manager_client: Client, world: ApiClient) -> None:
    response = manager_client.get("/console/acme/queue/")

    assert response.status_code == 200
    assert_strict(response)


def test_the_console_home_and_the_sign_in_page_carry_the_policy(manager_client: Client, anonymous_client: Client):
    assert_strict(anonymous_client.get("/console/login/"))
    assert_strict(manager_client.get("/console/"))
    assert_strict(anonymous_client.get("/admin/login/"))
    assert_strict(anonymous_client.get("/"))


def test_error_pages_carry_the_policy_too(manager_client: Client, world: ApiClient) -> None:
    missing = manager_client.get("/console/acme/jobs/no-such-job/")
    bad_host = Client(HTTP_HOST="evil.example").get("/console/")

    assert missing.status_code == 404 and bad_host.status_code == 400
    assert_strict(missing)
    assert_strict(bad_host)


def test_forms_may_end_only_on_this_origin_without_a_provider(manager_client: Client) -> None:
    assert policy(manager_client.get("/console/"))["form-action"] == ["'self'"]


def test_with_a_provider_forms_may_also_end_at_its_origin_where_signing_out_goes(
    settings: Any, manager_client: Client
) -> None:
    settings.OIDC_ENABLED = True
    settings.OIDC_OP_ISSUER = "https://id.example.com/realms/ai"
    settings.OIDC_OP_END_SESSION_ENDPOINT = "https://logout.example.com/end"

    directives = policy(manager_client.get("/console/"))

    assert directives["form-action"] == ["'self'", "https://id.example.com", "https://logout.example.com"]
    assert directives["script-src"] == ["'self'"]
    assert policy(manager_client.get("/api/schema"))["form-action"] == ["'self'"]  # not a page


# --- the API documentation -----------------------------------------------------------------------------------------


def test_the_api_docs_carry_the_strict_policy_and_load_only_from_this_origin(anonymous_client: Client) -> None:
    response = anonymous_client.get("/api/docs")
    text = response.content.decode()

    assert response.status_code == 200
    assert_strict(response)
    urls = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert urls, "the page loads Swagger UI"
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in urls
    assert "cdn" not in text.lower()
    assert "<script>" not in text and "<style" not in text


def test_the_api_docs_start_up_script_is_a_same_origin_file(anonymous_client: Client) -> None:
    page_urls = re.findall(r'<script src="([^"]*)"', anonymous_client.get("/api/docs").content.decode())
    start_up = next(url for url in page_urls if "script" in url.split("?")[-1])

    response = anonymous_client.get(start_up)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


@pytest.mark.parametrize(
    "asset",
    [
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
        "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js",
        "api/docs.css",
    ],
)
def test_the_api_docs_assets_ship_with_the_application(asset: str) -> None:
    from django.contrib.staticfiles import finders

    assert finders.find(asset)


def test_redoc_loads_only_from_this_origin(anonymous_client: Client) -> None:
    response = anonymous_client.get("/api/redoc")
    text = response.content.decode()

    assert response.status_code == 200
    assert "googleapis" not in text and "gstatic" not in text
    assert all(url.startswith("/") for url in re.findall(r'(?:src|href|spec-url)="([^"]*)"', text))
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]


# --- no inline code for the policy to block --------------------------------------------------------------------------

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "an inline <script>"),
    (re.compile(r"<style\b", re.IGNORECASE), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "a style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "an on*= handler"),
    (re.compile(r"javascript:", re.IGNORECASE), "a javascript: URL"),
]
MARKUP = sorted(
    path
    for folder in ("templates", "static")
    for path in (ROOT / folder).rglob("*")
    if path.suffix in (".html", ".htm")
)


@pytest.mark.parametrize("path", MARKUP, ids=lambda path: str(path.relative_to(ROOT)))
def test_templates_hold_no_inline_code_or_style(path: Path) -> None:
    text = path.read_text()

    found = [what for pattern, what in INLINE if pattern.search(text)]

    assert not found, f"{path.relative_to(ROOT)} has {', '.join(found)}: move it to a file under static/"

"""Browser tests: Debian's Chromium, driven by Playwright, against the console served by pytest-django's live server.

Playwright never downloads a browser here: it launches /usr/bin/chromium (`apt-get install chromium`), headless.
One browser serves every test of this package; each test gets a fresh browser context (no cookies) and a
database that is emptied after it (`transactional_db`: the live server's threads must see what the test wrote).

The data is fixed (ids, names, times), so that pages, and the screenshots taken of them, look the same every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from playwright.sync_api import Browser, Page, expect, sync_playwright

from apps.agents.bundle import bundle_collect, bundle_encode
from apps.agents.seeding import seed_catalogue
from apps.console.catalogue.services import import_preview
from apps.jobs.models import Job
from apps.tenants.models import Membership, Tenant
from tests.agents.conftest import rag_tool_body, slack_tool_body

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct-horse-battery-staple"
VIEWPORT = {"width": 1280, "height": 800}
START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # the first seeded job's creation
EXPORTED_AT = "2025-03-03T12:00:00.000Z"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "screenshots: renders the README's screenshots (written to docs/screenshots with SCREENSHOTS=1)"
    )


# --- the browser -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Chromium for the whole package. Package, not session, scope: while Playwright's sync API is started it
    keeps an asyncio loop running in the main thread, so the rest of the suite must not run beside it."""
    if not os.path.exists(CHROMIUM):
        # Never skipped: the console's browser behaviour is part of the suite. `make test` installs it as root.
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    # Django refuses ORM calls while an event loop runs in the thread; this one is Playwright's, and the tests'
    # own code stays synchronous.
    allowed = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if allowed is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allowed


@pytest.fixture(autouse=True)
def _live_database(transactional_db: Any) -> None:
    """Rows the test writes are committed, so the live server sees them; the cache is shared with it too."""
    cache.clear()


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    """A new browser context (no cookies) on the live server, 1280x800, in UTC."""
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORT, locale="en-US", timezone_id="UTC", accept_downloads=True
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def signed_in(page: Page, user: AbstractBaseUser, password: str = PASSWORD) -> Page:
    """Signs `user` in through the sign-in form, as a person would: the console sends an anonymous visitor there
    and brings them back to /console/ (which opens the tenant of a member of one tenant)."""
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/login/\?next=/console/$"))
    page.locator("#id_username").fill(user.get_username())
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"^[^?]*/console/"))  # not the sign-in page, whose ?next= names it
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


# --- people ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def make_user() -> Callable[..., AbstractBaseUser]:
    """A console user with a password, and roles ({tenant: "manager" | "viewer"}) or platform admin rights."""

    def make(username: str, roles: dict[Tenant, str] | None = None, *, superuser: bool = False) -> AbstractBaseUser:
        user = get_user_model().objects.create_user(
            username=username, password=PASSWORD, is_staff=True, is_superuser=superuser
        )
        for tenant, role in (roles or {}).items():
            Membership.objects.create(user=user, tenant=tenant, role=role)
        return user

    return make


@pytest.fixture
def manager_user(make_user: Callable[..., AbstractBaseUser], tenant: Tenant) -> AbstractBaseUser:
    return make_user("mia-manager", {tenant: Membership.Role.MANAGER})


@pytest.fixture
def viewer_user(make_user: Callable[..., AbstractBaseUser], tenant: Tenant) -> AbstractBaseUser:
    return make_user("vic-viewer", {tenant: Membership.Role.VIEWER})


@pytest.fixture
def outsider_user(make_user: Callable[..., AbstractBaseUser], other_tenant: Tenant) -> AbstractBaseUser:
    """A manager, but of the other tenant only."""
    return make_user("otto-outsider", {other_tenant: Membership.Role.MANAGER})


# --- data ------------------------------------------------------------------------------------------------------------

CHAT_ANSWERS = [
    "Answered where order 10482 is: shipped yesterday, arriving Thursday",
    "Explained the return policy for opened electronics",
    "Changed the delivery address of order 10511",
    "Suggested three running shoes under 120 EUR",
]
CHAT_FAILURES = [
    "The model provider did not answer within 30 s (gpt-4.1-mini)",
    "Tool s-tool-0-1 failed: the vector store answered 503 Service Unavailable",
    "The conversation exceeded the agent's recursion limit of 20",
]
AGENT_TYPES = [Job.AgentType.SUPPORT, Job.AgentType.GENERIC, Job.AgentType.COMPLAINT, Job.AgentType.ANTI_FRAUD]


@dataclass
class ConsoleData:
    """What the `console_data` fixture wrote: acme's catalogue and jobs, and globex's."""

    tenant: Tenant
    other_tenant: Tenant
    jobs: list[Job]
    export_job: Job
    import_job: Job
    failed_export: Job
    running_chat: Job
    other_jobs: list[Job]
    bundle_file: bytes

    def count(self, **fields: Any) -> int:
        return sum(all(getattr(job, k) == v for k, v in fields.items()) for job in self.jobs)


def job_id(tenant: Tenant, n: int) -> str:
    """A stable 24-hex id, shaped like the ones the API gives."""
    return hashlib.sha256(f"{tenant.name}-{n}".encode()).hexdigest()[:24]


def _job(tenant: Tenant, n: int, **fields: Any) -> Job:
    created = START + timedelta(minutes=17 * n, seconds=n * 7 % 60)
    status = fields.setdefault("status", Job.Status.SUCCESS)
    done = status != Job.Status.IN_PROGRESS
    finished = created + timedelta(seconds=3 + n % 40)
    return Job.objects.create(
        tenant=tenant,
        job_id=job_id(tenant, n),
        created_at=created,
        modified_at=finished if done else created + timedelta(seconds=1),
        dispatched_at=created,
        started_at=created + timedelta(seconds=1),
        finished_at=finished if done else None,
        attempts=1,
        **fields,
    )


def bundle_document(other_tenant: Tenant) -> dict[str, Any]:
    """An export of globex's agents s-agent-1 and s-agent-2 (whose tools and MCP servers acme does not have, but
    whose token it does), with one tool acme already has, one whose token it lacks and a Slack tool: imported into
    acme, agents are DISABLED, tools ENABLED, EXISTS, DISABLED and TO_CREATE, MCP servers ENABLED. No id of an
    agent is taken, so the preview shows the ids the import will use."""
    document = bundle_collect(tenant=other_tenant, agent_ids=["s-agent-1"])
    everything = bundle_collect(tenant=other_tenant, agent_ids=["s-agent-0"])
    document["tools"] = [
        *document["tools"],
        next(tool for tool in everything["tools"] if tool["id"] == "s-tool-0-0"),
        {"id": "catalogue-search", **rag_tool_body("partner-key", name="Partner catalogue search")},
        {"id": "slack-support", **slack_tool_body(name="Slack #support")},
    ]
    document["tokens"] = [*document["tokens"], {"id": "partner-key", "name": "Partner API key"}]
    return document


def saved_export(document: dict[str, Any]) -> bytes:
    """The file upstream's console saves for an export: {exportedAt, data, checksum}."""
    data, checksum = bundle_encode(document)
    return json.dumps({"exportedAt": EXPORTED_AT, "data": data, "checksum": checksum}, indent=2).encode()


@pytest.fixture
def console_data(tenant: Tenant, other_tenant: Tenant) -> ConsoleData:
    """acme: a catalogue of one agent (s-agent-0 with tools s-tool-0-*, MCP servers s-mcp-0-*, token s-token) and
    22 jobs over six hours: 18 agent chats (12 successes, 3 failures, 3 in progress), an export and an import
    that succeeded, and one of each that failed. globex: a catalogue of three agents and three jobs."""
    seed_catalogue(tenant=tenant, agents=1)
    seed_catalogue(tenant=other_tenant, agents=3)
    agents = ["s-agent-0", "s-agent-0", "support-7f3a", "returns-desk"]
    jobs: list[Job] = []
    for n in range(18):
        status = [Job.Status.SUCCESS] * 4 + [Job.Status.FAILURE, Job.Status.IN_PROGRESS]
        state = status[n % 6]
        message = {
            Job.Status.SUCCESS: CHAT_ANSWERS[n % len(CHAT_ANSWERS)],
            Job.Status.FAILURE: CHAT_FAILURES[n // 6],
            Job.Status.IN_PROGRESS: None,
        }[state]
        jobs.append(
            _job(
                tenant,
                n,
                type=Job.Type.AGENT_CHAT,
                status=state,
                agent_type=AGENT_TYPES[n % 4],
                agent_id=agents[n % 4],
                session_id=hashlib.sha256(f"session-{n % 5}".encode()).hexdigest()[:24],
                message=message,
            )
        )
    data, checksum = bundle_encode(bundle_collect(tenant=tenant, agent_ids=["s-agent-0"]))
    export_job = _job(
        tenant,
        18,
        type=Job.Type.EXPORT,
        payload={"agentIds": ["s-agent-0"]},
        export_result={"data": data, "checksum": checksum},
    )
    failed_export = _job(
        tenant,
        19,
        type=Job.Type.EXPORT,
        status=Job.Status.FAILURE,
        payload={"agentIds": ["s-agent-0", "returns-desk"]},
        message="The export failed: the agent returns-desk does not exist",
    )
    document = bundle_document(other_tenant)
    result = import_preview(tenant=tenant, document=document)  # what importing it succeeded in doing
    import_job = _job(tenant, 20, type=Job.Type.IMPORT, import_result=result)
    failed_import = _job(
        tenant,
        21,
        type=Job.Type.IMPORT,
        status=Job.Status.FAILURE,
        message="The bundle's checksum does not match its data",
    )
    jobs += [export_job, failed_export, import_job, failed_import]
    other_jobs = [
        _job(other_tenant, n, type=Job.Type.AGENT_CHAT, agent_id="s-agent-1", message="Globex's own conversation")
        for n in range(3)
    ]
    return ConsoleData(
        tenant=tenant,
        other_tenant=other_tenant,
        jobs=jobs,
        export_job=export_job,
        import_job=import_job,
        failed_export=failed_export,
        running_chat=next(job for job in jobs if job.status == Job.Status.IN_PROGRESS),
        other_jobs=other_jobs,
        bundle_file=saved_export(document),
    )

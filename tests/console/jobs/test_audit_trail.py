"""The console's audit trail of a tenant."""

from __future__ import annotations

import re
from datetime import timedelta

from apps.audit.models import AuditEvent
from apps.console.jobs import selectors
from apps.core.timefmt import now_ms
from tests.console.jobs.helpers import (
    BASE,
    link,
)


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

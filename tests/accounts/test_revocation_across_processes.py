"""A revoked API client's token stops working at once in every web process. No process keeps what it read of a
token (each request reads it from the database), so a revocation made anywhere holds on the next request in each
of them, however often the token was used there before. Two real gunicorn processes, and the revocation made by a
third (this test's)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from apps.accounts.services import IssuedClient, api_client_revoke
from apps.tenants.models import Tenant
from tests.accounts.test_token_endpoint import INVALID_TOKEN_FAULT
from tests.conftest import READ
from tests.server import ServerProcess

pytestmark = pytest.mark.django_db(transaction=True)

JOBS = "/ai-service/acme/jobs"


def test_a_client_revoked_elsewhere_is_refused_at_once_by_every_web_process(
    tenant: Tenant, issue_client: Callable[..., IssuedClient]
) -> None:
    issued = issue_client(tenant, READ)
    servers = [ServerProcess(threads=2) for _ in range(2)]
    try:
        form = {
            "grant_type": "client_credentials",
            "client_id": issued.client.client_id,
            "client_secret": issued.client_secret,
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        granted = servers[0].call("POST", "/oauth/token", urlencode(form).encode(), **headers)
        token = str(granted.json()["access_token"])
        assert servers[0].worker_pid() != servers[1].worker_pid()
        # Each process has read the token, more than once, before the revocation.
        assert [server.call("GET", JOBS, token=token).status for server in servers for _ in range(3)] == [200] * 6

        api_client_revoke(client=issued.client)

        refused = [server.call("GET", JOBS, token=token) for server in servers]
        assert [answer.status for answer in refused] == [401, 401]
        assert all(answer.json() == INVALID_TOKEN_FAULT for answer in refused)
    finally:
        for server in servers:
            server.stop()

"""Reads of the catalogue leave a token's encrypted value in the database (apps.agents.models.without_secrets): the
API's reads and the admin's pages load tokens without it, and the other kinds have no secret column to leave."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.db.models import Q
from django.test import RequestFactory

from apps.agents import selectors
from apps.agents.admin import TokenAdmin
from apps.agents.models import Agent, Kind, Token, without_secrets
from apps.core.listing import ListParams
from apps.tenants.models import Tenant
from tests.agents.conftest import create, token_body

pytestmark = pytest.mark.django_db

FIRST_PAGE = ListParams(page_size=60, page_number=1, sort=(), fields=None, want_total=False)


def test_the_apis_reads_of_a_token_never_load_its_encrypted_value(tenant: Tenant) -> None:
    create(tenant, Kind.TOKEN, "t1", token_body())

    one = selectors.resource_get(tenant=tenant.name, kind=Kind.TOKEN, public_id="t1")
    listed = selectors.resource_list(tenant=tenant.name, kind=Kind.TOKEN, filters=Q(), params=FIRST_PAGE)

    assert one is not None and "encrypted_value" in one.get_deferred_fields()
    assert [token.public_id for token in listed] == ["t1"]
    assert "encrypted_value" in listed[0].get_deferred_fields()


def test_the_admins_token_pages_never_load_the_encrypted_value(tenant: Tenant, rf: RequestFactory) -> None:
    create(tenant, Kind.TOKEN, "t1", token_body())

    tokens: Any = TokenAdmin(Token, site).get_queryset(rf.get("/admin/"))

    assert [token.public_id for token in tokens] == ["t1"]
    assert "encrypted_value" in tokens[0].get_deferred_fields()


def test_kinds_without_a_secret_are_read_whole() -> None:
    agents = Agent.objects.all()

    assert without_secrets(agents).query.deferred_loading == agents.query.deferred_loading

"""The console's token pages: a token's value is needed to create it, is never shown, and cannot be changed."""

from __future__ import annotations

from django.test import Client

from apps.accounts.models import ApiClient
from apps.agents.crypto import decrypt_value
from apps.agents.models import Kind, Token
from apps.tenants.models import Tenant
from tests.agents.conftest import (
    SECRET,
    create,
    rag_tool_body,
)
from tests.console.catalogue.helpers import (
    post_form,
)
from tests.console.catalogue_fixtures import (
    field_errors,
    html,
    page,
)


def token_pages(public_id: str = "k1") -> list[str]:
    return [
        "tokens/",
        f"tokens/{public_id}/",
        f"tokens/{public_id}/edit",
        f"tokens/{public_id}/delete",
        "tools/",
        "tools/uses-k1/",
        "tools/uses-k1/edit",
        "agents/",
        "agents/a1/",
    ]


def assert_never_shown(client: Client, paths: list[str], *secrets: str) -> None:
    for path in paths:
        response = client.get(page(path))
        assert response.status_code == 200, path
        for secret in secrets:
            assert secret.encode() not in response.content, f"{path} shows a secret"


def test_a_tokens_value_and_ciphertext_never_appear_on_any_page(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    response = post_form(manager_client, "tokens/new", {"public_id": "k1", "name": "Vector DB key", "value": SECRET})
    assert response.status_code == 302
    token = Token.objects.get(tenant=tenant, public_id="k1")
    assert decrypt_value(token.encrypted_value) == SECRET
    create(tenant, Kind.TOOL, "uses-k1", rag_tool_body("k1", name="Uses k1"))

    assert_never_shown(manager_client, token_pages(), SECRET, token.encrypted_value, token.encrypted_value[:24])
    assert 'type="password"' in html(manager_client.get(page("tokens/new")))


def test_a_token_form_never_echoes_the_value_it_was_sent(world: ApiClient, manager_client: Client, tenant: Tenant):
    response = post_form(manager_client, "tokens/new", {"public_id": "k1", "name": "", "value": SECRET})

    assert response.status_code == 400
    assert "This field may not be blank." in field_errors(html(response))  # the API's own words
    assert SECRET.encode() not in response.content
    assert not Token.objects.filter(tenant=tenant, public_id="k1").exists()


def test_a_new_token_needs_its_value(world: ApiClient, manager_client: Client, tenant: Tenant):
    response = post_form(manager_client, "tokens/new", {"public_id": "k1", "name": "Key", "value": ""})

    assert response.status_code == 400
    assert not Token.objects.filter(tenant=tenant, public_id="k1").exists()


def test_a_token_is_renamed_without_its_value_which_stays(world: ApiClient, manager_client: Client, tenant: Tenant):
    response = post_form(manager_client, "tokens/t1/edit", {"name": "Renamed key", "value": "", "version": "1"})

    assert response.status_code == 302
    token = Token.objects.get(tenant=tenant, public_id="t1")
    assert (token.name, token.version, decrypt_value(token.encrypted_value)) == ("Renamed key", 2, SECRET)


def test_a_tokens_edit_form_offers_no_value_and_ignores_one_sent_like_the_api(
    world: ApiClient, manager_client: Client, tenant: Tenant
):
    """Regression: a different value answered "cannot be changed" and the stored one saved, telling the two apart."""
    attempt = "sk-another-secret-value-1234567890"
    assert 'name="value"' not in html(manager_client.get(page("tokens/t1/edit")))

    response = post_form(manager_client, "tokens/t1/edit", {"name": "OpenAI key", "value": attempt, "version": "1"})

    assert response.status_code == 302
    assert decrypt_value(Token.objects.get(tenant=tenant, public_id="t1").encrypted_value) == SECRET

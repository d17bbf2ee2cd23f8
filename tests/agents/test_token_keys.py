"""Token values and their keys: stored under the first of TOKEN_ENCRYPTION_KEYS, read with any of them, and
encrypted again with the first by `manage.py reencrypt_token_values`, so that an older key (such as the one older
versions derived from the secret key) can be retired."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.test import override_settings

from apps.agentic.events.services import event_secret_get, event_secret_rotate
from apps.agentic.models import EventSecret
from apps.agents import crypto
from apps.agents.models import Kind, Token
from apps.agents.services import token_values_reencrypt
from apps.tenants.models import Tenant
from config import keys
from tests.agents.conftest import SECRET, create, token_body

OLD_SECRET_KEY = "change-me-in-production"  # what the compose file used to give every installation
LEGACY = keys.legacy_token_key(OLD_SECRET_KEY)
NEW = keys.make_fernet_key()


@pytest.fixture(autouse=True)
def fresh_keys() -> Iterator[None]:
    crypto._fernet.cache_clear()
    yield
    crypto._fernet.cache_clear()


def stored_under(tenant: Tenant, public_id: str, key: str) -> Token:
    with override_settings(TOKEN_ENCRYPTION_KEYS=[key]):
        crypto._fernet.cache_clear()
        create(tenant, Kind.TOKEN, public_id, token_body())
    crypto._fernet.cache_clear()
    return Token.objects.get(tenant=tenant, public_id=public_id)


@pytest.mark.django_db
def test_values_stored_under_the_legacy_key_are_read_with_it_as_a_later_key(tenant: Tenant) -> None:
    token = stored_under(tenant, "t1", LEGACY)

    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW, LEGACY]):
        assert crypto.decrypt_value(token.encrypted_value) == SECRET


@pytest.mark.django_db
def test_reencrypting_moves_every_value_to_the_first_key(tenant: Tenant, other_tenant: Tenant) -> None:
    stored_under(tenant, "t1", LEGACY)
    stored_under(other_tenant, "t1", LEGACY)
    out = StringIO()

    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW, LEGACY]):
        call_command("reencrypt_token_values", stdout=out)

    assert "encrypted again with the first key: 2." in out.getvalue()  # two tokens, no event secret
    for token in Token.objects.all():
        assert Fernet(NEW).decrypt(token.encrypted_value.encode()).decode() == SECRET
        with pytest.raises(InvalidToken):
            Fernet(LEGACY).decrypt(token.encrypted_value.encode())


@pytest.mark.django_db
def test_reencrypting_names_values_no_key_opens_and_leaves_them_as_they_are(tenant: Tenant) -> None:
    lost = stored_under(tenant, "lost", keys.make_fernet_key())
    stored_under(tenant, "t1", LEGACY)

    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW, LEGACY]), pytest.raises(CommandError) as raised:
        call_command("reencrypt_token_values", stdout=StringIO())

    assert "1 token values or secrets open with none of TOKEN_ENCRYPTION_KEYS" in str(raised.value)
    assert "acme/lost" in str(raised.value)
    assert Token.objects.get(pk=lost.pk).encrypted_value == lost.encrypted_value
    assert Fernet(NEW).decrypt(Token.objects.get(public_id="t1").encrypted_value.encode()).decode() == SECRET


@pytest.mark.django_db
def test_reencrypting_goes_through_every_batch(tenant: Tenant) -> None:
    for n in range(3):
        stored_under(tenant, f"t{n}", LEGACY)

    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW, LEGACY]):
        result = token_values_reencrypt(batch_size=2)

    assert (result.reencrypted, result.unreadable) == (3, [])
    assert all(Fernet(NEW).decrypt(token.encrypted_value.encode()) for token in Token.objects.all())


@pytest.mark.django_db
def test_reencrypting_moves_the_commerce_events_signing_secrets_too(tenant: Tenant) -> None:
    with override_settings(TOKEN_ENCRYPTION_KEYS=[LEGACY]):
        crypto._fernet.cache_clear()
        first = event_secret_get(tenant=tenant)
        second = event_secret_rotate(tenant=tenant)  # the first stays valid for a while, as the previous one
    crypto._fernet.cache_clear()
    out = StringIO()

    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW, LEGACY]):
        call_command("reencrypt_token_values", stdout=out)

    assert "encrypted again with the first key: 1." in out.getvalue()
    row = EventSecret.objects.get(tenant=tenant)
    assert Fernet(NEW).decrypt(row.encrypted_secret.encode()).decode() == second
    assert Fernet(NEW).decrypt(str(row.encrypted_previous).encode()).decode() == first
    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW]):
        crypto._fernet.cache_clear()
        assert event_secret_get(tenant=tenant) == second  # readable without the old key

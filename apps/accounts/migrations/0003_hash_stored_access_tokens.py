"""Access and refresh tokens issued before hashed storage held the usable value in `token`: keep only its SHA-256
(`token_checksum`, which every lookup already uses) and empty the column, as new tokens are stored."""

import hashlib

from django.db import migrations
from oauth2_provider.settings import oauth2_settings


def _redact(model) -> None:
    # The checksum is re-derived from the value it replaces, so a row whose checksum were stale still works after.
    for row in model.objects.exclude(token="").only("pk", "token").iterator(chunk_size=1000):
        checksum = hashlib.sha256(row.token.encode("utf-8")).hexdigest()
        model.objects.filter(pk=row.pk).update(token="", token_checksum=checksum)


def hash_stored_tokens(apps, schema_editor) -> None:
    for name in (oauth2_settings.ACCESS_TOKEN_MODEL, oauth2_settings.REFRESH_TOKEN_MODEL):
        _redact(apps.get_model(name))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_console_users"),
        ("oauth2_provider", "0022_refreshtoken_token_family_index"),
    ]

    # Irreversible by nature: the usable values are gone.
    operations = [migrations.RunPython(hash_stored_tokens, migrations.RunPython.noop)]

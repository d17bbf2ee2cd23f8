from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.agents.services import secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Encrypt every stored token value (and the commerce events' signing secrets) again with the first key of "
        "TOKEN_ENCRYPTION_KEYS. Run it after putting a new key in front; once it reports nothing unreadable, the "
        "older keys can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = secrets_reencrypt()
        self.stdout.write(f"Token values and secrets encrypted again with the first key: {result.reencrypted}.")
        if result.unreadable:
            raise CommandError(
                f"{len(result.unreadable)} token values or secrets open with none of TOKEN_ENCRYPTION_KEYS "
                "(left as they are): "
                + ", ".join(result.unreadable[:20])
                + ". Add the key they were stored under (python -m config.keys legacy-token-key prints the one "
                "derived from an old DJANGO_SECRET_KEY) and run this again."
            )

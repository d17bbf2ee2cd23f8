from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agentic.events.errors import EventSecretUnreadable
from apps.agentic.events.services import event_secret_get, event_secret_rotate
from apps.tenants.selectors import tenant_get


class Command(BaseCommand):
    help = (
        'Print the secret a tenant\'s commerce events are signed with, as {"secret": "whsec_..."}; it is made on '
        "first use. --rotate makes a new one; the old one keeps working for EVENT_SECRET_GRACE_SECONDS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("--rotate", action="store_true", help="Replace the secret with a new one.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_get(name=options["tenant"])
        if tenant is None:
            raise CommandError(f"No tenant named {options['tenant']!r}.")
        try:
            secret = event_secret_rotate(tenant=tenant) if options["rotate"] else event_secret_get(tenant=tenant)
        except EventSecretUnreadable as exc:
            raise CommandError(f"{exc.message} Run it again with --rotate.") from None
        # Only the JSON on stdout, so that scripts can read it; the note about the old secret goes to stderr.
        self.stdout.write(json.dumps({"secret": secret}))
        if options["rotate"]:
            grace = settings.EVENT_SECRET_GRACE_SECONDS
            self.stderr.write(f"The previous secret of {tenant.name} keeps working for {grace} s.")

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.services import api_client_create
from apps.tenants.selectors import tenant_get


class Command(BaseCommand):
    help = "Create an OAuth2 client-credentials API client for a tenant; prints its id and secret as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("--scope", action="append", required=True, dest="scopes", metavar="SCOPE")
        parser.add_argument("--name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_get(name=options["tenant"])
        if tenant is None:
            raise CommandError(f"No tenant named {options['tenant']!r}; create it with create_tenant first.")
        try:
            issued = api_client_create(tenant=tenant, scopes=options["scopes"], name=options["name"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            json.dumps(
                {
                    "client_id": issued.client.client_id,
                    "client_secret": issued.client_secret,
                    "tenant": tenant.name,
                    "scopes": issued.client.allowed_scopes,
                }
            )
        )

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.jobs.history import HistoryError, jobs_from_history
from apps.jobs.services import job_load_history
from apps.tenants.selectors import tenant_get


class Command(BaseCommand):
    help = "Load a JSON array of jobs in the API's own shape (as GET /jobs returns) into a tenant, all or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_get(name=options["tenant"])
        if tenant is None:
            raise CommandError(f"No tenant named {options['tenant']!r}; create it with create_tenant first.")
        path: Path = options["file"]
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}. Nothing was loaded.") from None
        try:
            count = job_load_history(tenant=tenant, jobs=jobs_from_history(items))
        except HistoryError as exc:
            raise CommandError(f"{exc} Nothing was loaded.") from None
        self.stdout.write(f"Loaded {count} jobs into tenant {tenant.name}")

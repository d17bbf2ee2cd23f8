from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.jobs.services import job_counts_recount
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_get


class Command(BaseCommand):
    help = (
        "Recompute the kept job counts (what X-Total-Count answers from) of one tenant, or of all, from the jobs, "
        "and name the ones that were wrong. Writers of jobs wait while it runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", nargs="?", help="only this tenant (by name); all tenants when left out")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant: Tenant | None = None
        if options["tenant"] is not None:
            tenant = tenant_get(name=options["tenant"])
            if tenant is None:
                raise CommandError(f"No tenant named {options['tenant']!r}.")
        fixed = job_counts_recount(tenant=tenant)
        names = dict(Tenant.objects.filter(pk__in={f.tenant_id for f in fixed}).values_list("pk", "name"))
        for f in fixed:
            owner = names.get(f.tenant_id, f"deleted tenant {f.tenant_id}")
            self.stdout.write(f"{owner} {f.type} {f.status}: was {f.was}, is {f.now}")
        scope = f"tenant {tenant.name}" if tenant is not None else "all tenants"
        self.stdout.write(f"Recounted the jobs of {scope}: {len(fixed)} count(s) fixed.")

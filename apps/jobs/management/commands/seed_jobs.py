from __future__ import annotations

import json
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from apps.jobs.models import Job
from apps.jobs.seeding import COLUMNS, synthetic_rows
from apps.tenants.models import Tenant, tenant_name_validator

# Above this many rows, PostgreSQL secondary indexes are dropped and rebuilt: one sorted build is far faster
# than a million single inserts into each index.
REBUILD_INDEXES_FROM = 200_000


class Command(BaseCommand):
    help = "Add realistic synthetic jobs to N tenants (created when missing), for benchmarks and demos."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenants", type=int, help="how many tenants, named <prefix><number>")
        parser.add_argument("--jobs-per-tenant", type=int, required=True)
        parser.add_argument("--prefix", default="seed", help="tenant names are <prefix><number>")
        parser.add_argument("--tenant", help="seed this one tenant (by name) instead of --tenants")
        parser.add_argument("--seed", type=int, default=1, help="random seed, for repeatable data")

    def handle(self, *args: Any, **options: Any) -> None:
        per_tenant, prefix = options["jobs_per_tenant"], options["prefix"]
        names = [options["tenant"]] if options["tenant"] else None
        if names is None:
            if options["tenants"] is None or options["tenants"] < 1:
                raise CommandError("Give --tenants N (at least 1) or --tenant NAME.")
            names = [f"{prefix}{i:03d}" for i in range(1, options["tenants"] + 1)]
        if per_tenant < 0:
            raise CommandError("--jobs-per-tenant must be at least 0.")
        tenants = [self._tenant(name) for name in names]
        count = len(tenants)
        started = time.monotonic()
        with transaction.atomic():
            rebuild = connection.vendor == "postgresql" and count * per_tenant >= REBUILD_INDEXES_FROM
            saved = _drop_secondary_indexes() if rebuild else []
            for number, tenant in enumerate(tenants):
                _insert(tenant.pk, per_tenant, seed=options["seed"] * 1_000_003 + number)
            _create_indexes(saved)
        _analyze()
        seconds = time.monotonic() - started
        self.stdout.write(f"Seeded {count * per_tenant} jobs in {count} tenants in {seconds:.1f}s")

    def _tenant(self, name: str) -> Tenant:
        try:
            tenant_name_validator(name)
        except ValidationError:
            raise CommandError(f"{name!r} is not a valid tenant name (3-16 lowercase letters and digits).") from None
        return Tenant.objects.get_or_create(name=name)[0]


def _insert(tenant_id: int, count: int, *, seed: int) -> None:
    rows = synthetic_rows(tenant_id, count, seed=seed)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Django's foreign keys are deferred; deferred checks would block rebuilding indexes in this
            # transaction, so check them row by row instead.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {Job._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    batch: list[Job] = []
    for row in rows:
        fields = dict(zip(COLUMNS, row, strict=True))
        for column in ("export_result", "import_result"):
            fields[column] = json.loads(fields[column]) if fields[column] else None
        batch.append(Job(**fields))
        if len(batch) == 5000:
            Job.objects.bulk_create(batch)
            batch = []
    Job.objects.bulk_create(batch)


def _drop_secondary_indexes() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [Job._meta.db_table, Job._meta.db_table],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in indexes]


def _create_indexes(definitions: list[str]) -> None:
    with connection.cursor() as cursor:
        if definitions:
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for definition in definitions:
            cursor.execute(definition)


def _analyze() -> None:
    if connection.vendor != "postgresql":
        return
    # VACUUM sets the visibility map, so page-skipping queries can answer from the index alone.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Job._meta.db_table}")

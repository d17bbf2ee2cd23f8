from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.agents.models import Agent
from apps.agents.seeding import seed_assistant, seed_catalogue
from apps.core.ids import id_problem
from apps.tenants.selectors import tenant_get


class Command(BaseCommand):
    help = (
        "Add synthetic agents to a tenant, each with its own tools and MCP servers and handing off to the next, "
        "for demos and for benchmarks of export and import, and an assistant that runs as it is (<prefix>-assistant: "
        "no tools, on the installation's own model; the demo model under make run). Prints the ids as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("--agents", type=int, default=3)
        parser.add_argument("--tools-per-agent", type=int, default=3)
        parser.add_argument("--mcp-servers-per-agent", type=int, default=2)
        parser.add_argument("--prefix", default="demo", help="ids are <prefix>-agent-<n>, <prefix>-tool-<n>-<m> ...")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_get(name=options["tenant"])
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}; create it with create_tenant first.")
        counts = (options["agents"], options["tools_per_agent"], options["mcp_servers_per_agent"])
        if min(counts) < 0 or options["agents"] < 1:
            raise CommandError("--agents must be at least 1, the other counts at least 0.")
        first = f"{options['prefix']}-agent-0"
        # The longest id the prefix makes; the rule (apps.core.ids) is the API's, whatever the road in.
        longest = f"{options['prefix']}-tool-{counts[0]}-{max(counts[1:])}"
        assistant = f"{options['prefix']}-assistant"
        problem = id_problem(first) or id_problem(longest) or id_problem(assistant)
        if problem:
            raise CommandError(f"--prefix {options['prefix']!r} makes ids the API would refuse: {problem}")
        if Agent.objects.filter(tenant=tenant, public_id__in=[first, assistant]).exists():
            raise CommandError(f"Tenant {tenant.name} already has agents with prefix {options['prefix']!r}.")
        with transaction.atomic():
            catalogue = seed_catalogue(
                tenant=tenant,
                agents=counts[0],
                tools_per_agent=counts[1],
                servers_per_agent=counts[2],
                prefix=options["prefix"],
            )
            runnable = seed_assistant(tenant=tenant, prefix=options["prefix"])
        summary = {
            "agents": catalogue.agents,
            "tools": catalogue.tools,
            "mcpServers": catalogue.mcp_servers,
            "assistant": runnable,
        }
        self.stdout.write(json.dumps(summary))

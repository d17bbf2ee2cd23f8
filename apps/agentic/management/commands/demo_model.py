"""`manage.py demo_model [--port N]`: serve the deterministic demo model, for trying agents without an API key."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agentic.demo_model import DemoModelServer


class Command(BaseCommand):
    help = "Serve the deterministic demo model (OpenAI-compatible) on 127.0.0.1; only when DJANGO_DEBUG is on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: any free)")

    def handle(self, *args: Any, **options: Any) -> None:
        # Its answers are canned: a production installation must never mistake it for a model.
        if not settings.DEBUG:
            raise CommandError("The demo model is for development only: it refuses to start when DJANGO_DEBUG is off.")
        server = DemoModelServer(port=int(options["port"]))
        self.stdout.write(
            f"Demo model at {server.url}: set PLATFORM_LLM_BASE_URL={server.url} for agents on the provider "
            "emporix_openai (or give an agent the provider self_hosted_vllm with this url), and list 127.0.0.1 in "
            "AGENT_EGRESS_ALLOWED_HOSTS. Ctrl-C stops it."
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()

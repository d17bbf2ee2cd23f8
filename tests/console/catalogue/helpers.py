"""Helpers of the catalogue page tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.test import Client

from apps.agents.models import Kind
from tests.console.catalogue_fixtures import (
    page,
)

ROOT = Path(__file__).resolve().parents[3]

KIND_PATHS = {Kind.AGENT: "agents", Kind.TOOL: "tools", Kind.MCP_SERVER: "mcp-servers", Kind.TOKEN: "tokens"}


def post_form(client: Client, path: str, data: dict[str, Any]) -> Any:
    return client.post(page(path), data)

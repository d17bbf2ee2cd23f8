"""The runtime's library stays behind one module, and nothing counts tokens locally (tiktoken downloads encodings
on first use)."""

from __future__ import annotations

import re
from pathlib import Path

APPS = Path(__file__).resolve().parents[3] / "apps"
IMPORT = re.compile(r"^\s*(from|import)\s+{name}\b", re.M)


def importers(name: str) -> list[str]:
    pattern = re.compile(IMPORT.pattern.format(name=name), re.M)
    return sorted(str(path.relative_to(APPS)) for path in APPS.rglob("*.py") if pattern.search(path.read_text()))


def test_only_the_runtime_module_imports_pydantic_ai():
    assert importers("pydantic_ai") == ["agentic/runtime.py"]


def test_nothing_imports_tiktoken():
    assert importers("tiktoken") == []

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


def test_only_the_runtime_package_imports_pydantic_ai():
    assert {path.rsplit("/", 1)[0] for path in importers("pydantic_ai")} == {"agentic/runtime"}


def test_nothing_imports_tiktoken():
    assert importers("tiktoken") == []


def test_models_of_every_provider_are_built_without_loading_a_tokenizer():
    import asyncio
    import sys

    from apps.agentic import runtime
    from apps.agentic.specs import ModelSpec

    async def build() -> list[str]:
        run = runtime.RunState(journal=None, timeouts=runtime.Timeouts(run=60, model=60, tool=60), secrets=[])  # type: ignore[arg-type]
        specs = [
            ModelSpec("openai", "OPENAI", "gpt-4.1-mini", api_key="k"),
            ModelSpec("anthropic", "ANTHROPIC", "claude-sonnet-4-5", api_key="k"),
            ModelSpec("google", "GOOGLE", "gemini-2.5-flash", api_key="k"),
            ModelSpec("self_hosted_ollama", "ANTHROPIC", "m", base_url="https://models.example.com"),
        ]
        names = [type(runtime.build_model(spec, run)).__name__ for spec in specs]
        for client in run.clients:
            await client.aclose()
        return names

    assert asyncio.run(build()) == ["OpenAIChatModel", "AnthropicModel", "GoogleModel", "AnthropicModel"]
    assert "tiktoken" not in sys.modules

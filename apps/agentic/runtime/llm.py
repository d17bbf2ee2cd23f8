"""The model of a run: the pydantic-ai model for an agent's llmConfig, and its settings."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings

from apps.agentic import egress
from apps.agentic.runtime.state import RunState, Timeouts
from apps.agentic.specs import ModelSpec

if TYPE_CHECKING:
    import httpx2


def preload() -> None:
    """Import what runs with an OpenAI-style model and MCP servers need (the model SDK, the MCP client: seconds of
    imports). Called once in a worker's main process before it forks its pool (apps.agentic.runner), so that every
    pool process starts with them instead of importing them on its first run; the web process never needs them."""
    import fastmcp.client
    import fastmcp.client.transports
    import openai
    import pydantic_ai.mcp
    import pydantic_ai.models.openai
    import pydantic_ai.providers.openai

    del fastmcp, openai, pydantic_ai


def model_settings(model: ModelSpec, timeouts: Timeouts) -> ModelSettings:
    settings = ModelSettings(timeout=timeouts.model)
    if model.temperature is not None:
        settings["temperature"] = float(model.temperature)
    return settings


# The models a worker's loop has built, by everything they were built from (keys included: they never leave this
# process's memory). Building one (its SDK client) costs more CPU than a run's database work; a worker's runs use a
# handful of models. Only in a loop that lives as long as the process (egress.share_connections).
_KEPT_MODELS = 32
_kept: dict[tuple[Any, ...], Model] = {}


def build_model(spec: ModelSpec, run: RunState) -> Model:
    """The pydantic-ai model for the agent's llmConfig, talking through a checked client with no retries of its
    own (a retried request could repeat a tool's effect; the run reports the failure instead)."""
    if not egress.shares_connections():
        return _new_model(spec, run.timeouts.model, run)
    headers = tuple(sorted((spec.headers or {}).items()))
    key = (asyncio.get_running_loop(), spec.api, spec.model, spec.base_url, spec.api_key, headers, run.timeouts.model)
    model = _kept.get(key)
    if model is None:
        if len(_kept) >= _KEPT_MODELS:
            _kept.clear()
        model = _kept[key] = _new_model(spec, run.timeouts.model, None)
    return model


def _new_model(spec: ModelSpec, timeout: float, run: RunState | None) -> Model:
    client = egress.http_client(timeout=timeout, headers=spec.headers or None)
    if run is not None:
        run.clients.append(client)  # closed with the run
    key = spec.api_key or "not-needed"  # self-hosted models authenticate with their own header, if at all
    # What the OpenAI and Anthropic SDKs are given alike; no retries of their own (see above).
    sdk_options: dict[str, Any] = {
        "api_key": key,
        "base_url": spec.base_url or None,
        "http_client": client,
        "max_retries": 0,
        "timeout": timeout,
        "default_headers": spec.headers or None,
    }
    if spec.api == "ANTHROPIC":
        from anthropic import AsyncAnthropic
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        anthropic = AsyncAnthropic(**sdk_options)
        return AnthropicModel(spec.model, provider=AnthropicProvider(anthropic_client=anthropic))
    if spec.api == "GOOGLE":
        return _google_model(spec, client, key)
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    openai = AsyncOpenAI(**sdk_options)
    return OpenAIChatModel(spec.model, provider=OpenAIProvider(openai_client=openai))


def _google_model(spec: ModelSpec, client: httpx2.AsyncClient, key: str) -> Model:
    """A model speaking Gemini's API. google-genai retries only when given retry options: one attempt is said
    outright, so that no default of a later SDK version retries behind the run's back. The SDK sends its key in
    x-goog-api-key on every request, over the client's own headers: a self-hosted server that takes its token in
    that header gets the token as the key, not the placeholder."""
    from google.genai.types import HttpRetryOptions
    from pydantic_ai.models.google import GoogleModel
    from pydantic_ai.providers.google import GoogleProvider

    header_key = next((value for name, value in spec.headers.items() if name.lower() == "x-goog-api-key"), None)
    provider = GoogleProvider(
        api_key=spec.api_key or header_key or key,
        http_client=client,
        base_url=spec.base_url or None,
        retry_options=HttpRetryOptions(attempts=1),
    )
    return GoogleModel(spec.model, provider=provider)

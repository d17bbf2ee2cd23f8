"""A newcomer's first agent run: `seed_agents` adds an assistant that runs as it is (no tool, no outside service,
on the installation's own model, which `make run` points at its demo model), and its Try it panel starts it."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from apps.agentic.services import chat_problem
from apps.agents.models import Agent
from apps.jobs.models import Job
from tests.console.jobs.helpers import BASE


def seed(tenant_name: str, *arguments: str) -> dict[str, object]:
    out = io.StringIO()
    call_command("seed_agents", tenant_name, *arguments, stdout=out)
    summary: dict[str, object] = json.loads(out.getvalue())
    return summary


def test_seed_agents_adds_an_assistant_that_runs_with_nothing_more_to_set_up(tenant) -> None:
    summary = seed(tenant.name, "--agents", "2")

    assert summary["assistant"] == "demo-assistant"
    assert summary["agents"] == ["demo-agent-0", "demo-agent-1"]  # what benchmarks export, unchanged
    assistant = Agent.objects.get(tenant=tenant, public_id="demo-assistant")
    assert assistant.enabled and chat_problem(assistant) is None
    body = assistant.body
    assert body["llmConfig"]["provider"] == "emporix_openai"
    assert body["triggers"] == [{"type": "endpoint"}]
    assert body["nativeTools"] == [] and body["mcpServers"] == [] and body["agentCollaborations"] == []
    assert body["enabledMemory"] is True


def test_the_synthetic_agents_run_on_the_installations_own_model_too(tenant) -> None:
    seed(tenant.name, "--agents", "1")

    agent = Agent.objects.get(tenant=tenant, public_id="demo-agent-0")
    assert agent.body["llmConfig"]["provider"] == "emporix_openai"
    assert chat_problem(agent) is None


def test_seeding_the_same_prefix_twice_is_refused_and_adds_nothing(tenant) -> None:
    seed(tenant.name, "--agents", "1")

    with pytest.raises(CommandError, match="already has agents"):
        seed(tenant.name, "--agents", "1")
    assert Agent.objects.filter(tenant=tenant).count() == 2


def test_a_prefix_too_long_for_the_assistants_id_is_refused_and_creates_nothing(tenant) -> None:
    with pytest.raises(CommandError, match="makes ids the API would refuse"):
        seed(tenant.name, "--prefix", "p" * 246, "--agents", "1", "--tools-per-agent", "0")
    assert not Agent.objects.filter(tenant=tenant).exists()


def test_a_manager_tries_the_seeded_assistant_from_its_page(manager_client, tenant, broker) -> None:
    seed(tenant.name, "--agents", "1")

    page = manager_client.get(f"{BASE}/agents/demo-assistant/").content.decode()
    response = manager_client.post(f"{BASE}/agents/demo-assistant/try", {"message": "Hello!"})

    assert '<section id="try-it"' in page and "msg-error" not in page
    assert response.status_code == 302
    job = Job.objects.get(agent_id="demo-assistant")
    assert (job.status, job.payload, job.agent_type) == ("in_progress", {"message": "Hello!"}, "generic")

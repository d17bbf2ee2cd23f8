"""Lists and searches of agents, tools, MCP servers and tokens run under the API's read budget, as the Jobs API's
do: a read the client made expensive answers 503 saying to narrow it, and the next request is served."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agents import selectors
from tests.core.test_budget import slow_down

PATHS = ["agents", "tools", "mcp-servers", "tokens"]


@pytest.fixture
def slow_count(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    slow_down(monkeypatch, settings, selectors, "resource_count")


@pytest.mark.parametrize("path", PATHS)
def test_a_list_running_past_its_budget_answers_503_saying_to_narrow_the_query(manager, catalogue, slow_count, path):
    response = manager.get(f"/ai-service/acme/agentic/{path}", HTTP_X_TOTAL_COUNT="true")

    assert response.status_code == 503, response.body
    assert response.body["status"] == "Service Unavailable"
    assert "took longer than the 0.2 s allowed" in response.body["message"]
    assert "narrow it" in response.body["message"]


def test_a_search_running_past_its_budget_answers_503_and_the_next_request_is_served(manager, catalogue, slow_count):
    slow = manager.post(
        "/ai-service/acme/agentic/agents/search", {"q": ""}, content_type="application/json", HTTP_X_TOTAL_COUNT="true"
    )
    served = manager.get("/ai-service/acme/agentic/agents")

    assert slow.status_code == 503
    assert served.status_code == 200 and served.body

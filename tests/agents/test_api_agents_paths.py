"""/ai-service/{tenant}/agentic/agents: the answers to a method a path does not offer and to a trailing slash
(the access checklist of every kind is in test_api_access.py)."""

from __future__ import annotations

import pytest

from apps.agents.models import Kind
from tests.agents.conftest import (
    url,
)

AGENT = Kind.AGENT


@pytest.mark.parametrize(
    "method, path, allowed",
    [("post", url(AGENT, "a1"), "PUT"), ("delete", url(AGENT), "GET"), ("patch", url(AGENT, "a1"), "PUT")],
)
def test_a_method_the_path_does_not_offer_is_a_405_not_a_403(manager, catalogue, method, path, allowed):
    response = getattr(manager, method)(path)
    assert response.status_code == 405, response.body
    assert response.body["code"] == 405
    assert allowed in response["Allow"]


@pytest.mark.parametrize("path", [url(AGENT) + "/", url(AGENT, "a1") + "/", url(AGENT, "search") + "/"])
def test_a_trailing_slash_is_a_json_404_not_a_redirect(manager, catalogue, path):
    response = manager.get(path)
    assert response.status_code == 404
    assert "Location" not in response
    assert response.body["code"] == 404

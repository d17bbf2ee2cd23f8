"""The phrases of a run's log lines. The upstream dashboard rebuilds a transcript by parsing exactly these, so
they are written word for word; every other part of the project (the console's transcript included) uses these
helpers rather than spelling the phrases itself."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Long model outputs and tool results are cut, so one line never grows the table by megabytes.
MAX_TEXT = 8000


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " …"


def received(text: str) -> str:
    return f"Agent receive request: {_cut(text)}"


def final_response(text: str) -> str:
    return f"Agent final response: {_cut(text)}"


def llm_started(run: int, agent_id: str, prompts: Iterable[str]) -> str:
    quoted = ", ".join(repr(_cut(prompt)) for prompt in prompts)
    return f"LLM started (run #{run}) for agent: '{agent_id}' with prompts: [{quoted}]"


def llm_ended(run: int, agent_id: str, response: str) -> str:
    return f"LLM ended (run #{run}) for agent: '{agent_id}' with response: {_cut(response)}"


def tool_called(name: str, agent_id: str) -> str:
    return f"Tool {name} called by agent {agent_id}"


def tool_ended(agent_id: str, output: str) -> str:
    return f"Tool ended (agent: {agent_id}) with output: {_cut(output)}"


def transferred_back(agent_id: str) -> str:
    return f"Successfully transferred back to {agent_id}"


def run_failed(reason: str) -> str:
    return f"Agent run failed: {reason}"


_PHRASES = {
    "request": re.compile(r"^Agent receive request: (?P<text>.*)$", re.S),
    "final": re.compile(r"^Agent final response: (?P<text>.*)$", re.S),
    "llm_started": re.compile(r"^LLM started \(run #(?P<run>\d+)\) for agent: '(?P<agent>[^']*)' with prompts: ", re.S),
    "llm_ended": re.compile(
        r"^LLM ended \(run #(?P<run>\d+)\) for agent: '(?P<agent>[^']*)' with response: (?P<text>.*)$", re.S
    ),
    "tool_called": re.compile(r"^Tool (?P<name>\S+) called by agent (?P<agent>\S+)$", re.S),
    "tool_ended": re.compile(r"^Tool ended \(agent: (?P<agent>[^)]*)\) with output: (?P<text>.*)$", re.S),
}


def kind_of(message: str) -> str | None:
    """Which phrase a log line is ("request", "final", "llm_started", "llm_ended", "tool_called", "tool_ended"),
    or None for any other line: what a transcript view needs to tell the lines apart."""
    for kind, pattern in _PHRASES.items():
        if pattern.match(message):
            return kind
    return None

"""The log phrases the upstream dashboard parses, word for word, and telling them apart."""

from __future__ import annotations

from apps.agentic import logs


def test_the_phrases_are_written_as_the_dashboard_parses_them():
    assert logs.received("Hi") == "Agent receive request: Hi"
    assert logs.final_response("Bye") == "Agent final response: Bye"
    assert (
        logs.llm_started(2, "a1", ["Hi", "x: y"]) == "LLM started (run #2) for agent: 'a1' with prompts: ['Hi', 'x: y']"
    )
    assert logs.llm_ended(2, "a1", "Bye") == "LLM ended (run #2) for agent: 'a1' with response: Bye"
    assert logs.tool_called("order_status", "a1") == "Tool order_status called by agent a1"
    assert logs.tool_ended("a1", "42") == "Tool ended (agent: a1) with output: 42"


def test_each_line_is_recognised_by_its_phrase():
    assert logs.kind_of(logs.received("Hi")) == "request"
    assert logs.kind_of(logs.final_response("Bye")) == "final"
    assert logs.kind_of(logs.llm_started(1, "a1", ["Hi"])) == "llm_started"
    assert logs.kind_of(logs.llm_ended(1, "a1", "multi\nline")) == "llm_ended"
    assert logs.kind_of(logs.tool_called("t", "a1")) == "tool_called"
    assert logs.kind_of(logs.tool_ended("a1", "out")) == "tool_ended"
    assert logs.kind_of("Agent run failed: no") is None


def test_long_texts_are_cut_so_one_line_stays_small():
    line = logs.tool_ended("a1", "x" * 100_000)
    assert len(line) < logs.MAX_TEXT + 100 and line.endswith(" …")

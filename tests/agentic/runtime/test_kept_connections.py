"""What a worker keeps from run to run (apps.agentic.loop): its connection to a model, and its MCP sessions while
they stay healthy, young and in use; and how the run's database calls come back to the worker's thread."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from typing import Any

import pytest

from apps.agentic import loop
from apps.agentic.demo_model import Reply, ScriptedBrain
from apps.agentic.runtime import tools
from apps.jobs.models import Job
from tests.agentic.runtime.conftest import agent, finished, mcp_server, start

ASK_TOOL = Reply(tool_calls=[("order_status", {"order_id": "K-1"})])


def two_runs(tenant: Any, model: Any) -> list[Job]:
    model.brain = ScriptedBrain(ASK_TOOL, Reply(text="Shipped."), ASK_TOOL, Reply(text="Shipped again."))
    done = []
    for message in ("Where is K-1?", "And now?"):
        job = finished(start(tenant, "a", message))
        assert job.status == Job.Status.SUCCESS, job.message
        done.append(job)
    return done


def listings_since(recorder: Any, seen: int) -> int:
    """How many times the server was asked for its tools: once per session (the session keeps the list)."""
    return recorder.methods[seen:].count("tools/list")


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_a_worker_share_one_model_connection_and_one_mcp_session(worker, tenant, model, mcp):
    mcp_server(tenant, "orders", mcp.url)
    agent(tenant, "a", model.url, servers=("orders",))
    seen, calls = len(mcp.recorder.methods), len(mcp.recorder.calls)

    two_runs(tenant, model)

    assert len(mcp.recorder.calls) == calls + 2  # each run called the tool
    assert listings_since(mcp.recorder, seen) <= 1  # none when an earlier test's session was still kept
    assert len({peer for peer in model.peers[-4:]}) == 1  # four model calls, one connection


@pytest.mark.django_db(transaction=True)
def test_a_kept_sse_session_answers_a_ping_before_it_is_used_again(worker, tenant, model, mcp_sse):
    mcp_server(tenant, "orders", mcp_sse.url, transport="sse")
    agent(tenant, "a", model.url, servers=("orders",))
    seen = len(mcp_sse.recorder.methods)

    two_runs(tenant, model)

    sent = mcp_sse.recorder.methods[seen:]
    assert sent.count("tools/call") == 2
    assert sent.count("tools/list") <= 1
    assert "ping" in sent


@pytest.mark.django_db(transaction=True)
def test_a_session_whose_tool_call_failed_is_not_used_again(worker, tenant, model, mcp):
    mcp_server(tenant, "orders", mcp.url)
    agent(tenant, "a", model.url, servers=("orders",))
    model.brain = ScriptedBrain(ASK_TOOL, Reply(text="The order system is down."))
    mcp.recorder.fail = True
    try:
        finished(start(tenant, "a", "Where is K-1?"))
    finally:
        mcp.recorder.fail = False
    seen = len(mcp.recorder.methods)

    two_runs(tenant, model)

    assert listings_since(mcp.recorder, seen) == 1  # a new session for the first run, kept for the second


@pytest.mark.django_db(transaction=True)
def test_a_session_older_than_its_maximum_age_is_replaced(worker, tenant, model, mcp, monkeypatch):
    monkeypatch.setattr(tools, "MCP_SESSION_MAX_AGE_SECONDS", 0.0)
    mcp_server(tenant, "orders", mcp.url)
    agent(tenant, "a", model.url, servers=("orders",))
    seen = len(mcp.recorder.methods)

    two_runs(tenant, model)

    assert listings_since(mcp.recorder, seen) == 2


@pytest.mark.django_db(transaction=True)
def test_a_session_left_idle_is_closed_when_the_next_run_starts(worker, tenant, model, mcp, monkeypatch):
    mcp_server(tenant, "orders", mcp.url)
    agent(tenant, "a", model.url, servers=("orders",))
    two_runs(tenant, model)
    kept = list(tools._sessions.values())
    assert kept and not any(session.release.is_set() for session in kept)

    monkeypatch.setattr(tools, "MCP_SESSION_IDLE_SECONDS", 0.0)
    agent(tenant, "b", model.url)  # no MCP server: the run only finds the others idle
    model.brain = ScriptedBrain(Reply(text="Hello."))
    assert finished(start(tenant, "b", "Hi")).status == Job.Status.SUCCESS

    assert all(session.release.is_set() for session in kept)
    assert not {id(session) for session in tools._sessions.values()} & {id(session) for session in kept}


def test_the_bridge_makes_the_calls_in_the_starting_thread_in_order() -> None:
    made: list[tuple[str, str]] = []

    def note(word: str) -> str:
        made.append((threading.current_thread().name, word))
        return word.upper()

    async def run(bridge: loop.Bridge) -> list[str]:
        first = asyncio.ensure_future(bridge.call(note, word="one"))
        second = asyncio.ensure_future(bridge.call(note, word="two"))
        return [await first, await second, await bridge.call(note, word="three")]

    assert loop.run(run) == ["ONE", "TWO", "THREE"]
    here = threading.current_thread().name
    assert made == [(here, "one"), (here, "two"), (here, "three")]


class TimeLimit(Exception):
    pass


def test_a_run_whose_starting_thread_is_interrupted_is_cancelled() -> None:
    """Celery's soft time limit raises in the worker's thread (a signal), while it waits for the run's calls."""
    cancelled = threading.Event()

    def stop(*_: Any) -> None:
        raise TimeLimit

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        with pytest.raises(TimeLimit):
            loop.run(lambda bridge: _wait_cancelled(cancelled))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert cancelled.wait(5)


async def _wait_cancelled(cancelled: threading.Event) -> None:
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        cancelled.set()
        raise


def test_the_loop_is_kept_between_runs_and_made_again_after_a_fork(monkeypatch) -> None:
    async def which(_: loop.Bridge) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    first = loop.run(which)
    assert loop.run(which) is first
    monkeypatch.setattr(loop.os, "getpid", lambda: -1)  # as in a pool process forked after the loop was made
    deadline = time.monotonic() + 5
    assert loop.run(which) is not first
    assert time.monotonic() < deadline

"""A worker process killed in the middle of a run (as the kernel's OOM killer would), with the prefork pool that
`make run` uses. Kept apart from the other modules: their in-process worker would take this test's tasks."""

from __future__ import annotations

import pytest

from apps.agentic.demo_model import Reply, ScriptedBrain
from apps.jobs.models import Job
from tests.agentic.runtime.conftest import agent, finished, mcp_server, start
from tests.worker import WorkerProcess, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_killed_after_its_tool_was_called_fails_instead_of_calling_the_tool_again(tenant, model, mcp):
    mcp_server(tenant, "orders", mcp.url)
    agent(tenant, "refunds", model.url, servers=("orders",))
    model.brain = ScriptedBrain(Reply(tool_calls=[("order_status", {"order_id": "R-1"})]), Reply(text="Refunded."))
    calls_before = len(mcp.recorder.calls)
    mcp.recorder.delay = 30
    worker = WorkerProcess()
    try:
        worker.wait_ready()
        job = start(tenant, "refunds", "Refund R-1")
        wait_for(lambda: len(mcp.recorder.calls) > calls_before, what="the tool to be called", timeout=60)
        worker.kill_child()
        final = finished(job, timeout=90)
    finally:
        mcp.recorder.delay = 0
        log = worker.stop()

    assert final.status == Job.Status.FAILURE, log
    assert "after the agent had called a tool" in str(final.message)
    assert final.attempts == 2
    assert len(mcp.recorder.calls) == calls_before + 1  # the tool was not called again

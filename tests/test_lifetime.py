"""config.lifetime: a process that asked to end with its parent is killed when the parent is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

# The parent starts a child that asks to end with it (or not), prints the child's pid and waits to be killed.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
print(child.pid, flush=True)
time.sleep(60)
"""
CHILD = "from config.lifetime import end_with_parent; import time; {call}; time.sleep(60)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child not yet reaped by its new parent still answers: it is a zombie, not alive.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def _child_after_parent_killed(call: str) -> bool:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD.format(call=call)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    time.sleep(1)  # the child has made its request
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    return alive


def test_a_process_that_asked_ends_when_its_parent_is_killed() -> None:
    assert not _child_after_parent_killed("end_with_parent()")


def test_one_that_did_not_ask_outlives_it() -> None:
    assert _child_after_parent_killed("None")

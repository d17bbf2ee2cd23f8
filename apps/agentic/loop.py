"""The event loop a worker process runs its agent runs in: one per process, in a thread of its own, kept from run
to run. What a run opens in it and may keep (the pool of connections to models and MCP servers, apps.agentic.egress;
the models' SDK clients, apps.agentic.runtime.llm) is reused by the process's next run instead of being made again:
no TCP and TLS handshake to the model for every run.

The run's database calls come back to the thread that started it (`Bridge.call`), which holds the worker's own
connection: Celery keeps it between jobs and closes it when it goes bad, and a connection opened in the loop's
thread would be one more per process, outside that care. That thread serves them until the run ends.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from apps.agentic import egress

T = TypeVar("T")

_Call = tuple[Callable[..., Any], dict[str, Any], "Future[Any]"]


class Bridge:
    """One run's way back to the thread that started it."""

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()

    async def call(self, function: Callable[..., T], **kwargs: Any) -> T:
        """`function(**kwargs)` in the starting thread; calls run one at a time, in the order they were made."""
        result: Future[T] = Future()
        self._calls.put((function, kwargs, result))
        return await asyncio.wrap_future(result)

    def serve(self, run: Future[T]) -> T:
        """Make the run's calls until it ends; its result (or exception). Interrupted here (a time limit's
        exception), the run is cancelled."""
        run.add_done_callback(lambda _: self._calls.put(None))
        try:
            while (item := self._calls.get()) is not None:
                function, kwargs, result = item
                if result.set_running_or_notify_cancel():
                    try:
                        result.set_result(function(**kwargs))
                    except BaseException as exc:  # handed to the run, which decides
                        result.set_exception(exc)
        except BaseException:
            run.cancel()
            raise
        return run.result()


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        egress.share_connections(self.loop)
        self.pid = os.getpid()
        threading.Thread(target=self.loop.run_forever, name="agent-runs", daemon=True).start()


_current: _Loop | None = None
_lock = threading.Lock()


def run(make: Callable[[Bridge], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine `make(bridge)` in the process's loop, serving its database calls in this thread."""
    global _current
    with _lock:
        # Made on first use, in the process that runs: a loop made before a fork would be left without its thread.
        if _current is None or _current.pid != os.getpid():
            _current = _Loop()
        loop = _current.loop
    bridge = Bridge()
    return bridge.serve(asyncio.run_coroutine_threadsafe(make(bridge), loop))

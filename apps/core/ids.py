"""New object ids in upstream's shape: 24 hex characters whose first 4 bytes are the creation time.

Like a MongoDB ObjectId: 4 bytes of seconds since the epoch, 5 random bytes fixed per process, and a 3-byte
counter that starts at a random value. Ids are only ever *generated* in this shape; stored ids are opaque.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from datetime import UTC, datetime

_process_random = os.urandom(5)
_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_lock = threading.Lock()
_pid = os.getpid()


def _reseed_after_fork() -> None:
    global _process_random, _counter, _pid
    _process_random = os.urandom(5)
    _counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
    _pid = os.getpid()


os.register_at_fork(after_in_child=_reseed_after_fork)


def new_object_id(at: datetime | None = None) -> str:
    seconds = int(at.timestamp()) if at is not None else int(time.time())
    with _lock:
        count = next(_counter) & 0xFFFFFF
    return (seconds.to_bytes(4, "big") + _process_random + count.to_bytes(3, "big")).hex()


def object_id_time(object_id: str) -> datetime | None:
    """The creation time an id of upstream's shape carries, or None for any other id."""
    if len(object_id) != 24:
        return None
    try:
        seconds = int(object_id[:8], 16)
    except ValueError:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)

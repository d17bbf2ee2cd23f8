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


# --- client-chosen ids --------------------------------------------------------------------------------------------

ID_MAX_LENGTH = 255
"""The longest id any resource stores: the width of every public id column."""


def id_problem(value: str) -> str | None:
    """Why `value` cannot be the id of a new resource, or None when it can.

    Ids are opaque and may hold a "/", but each part between slashes must be a real name: no empty part (a
    leading, trailing or doubled "/"), no "." or ".." (a link holding one would be resolved to another page by
    every browser), and no control characters (NUL above all, which PostgreSQL refuses in text)."""
    if not value:
        return "An id cannot be empty."
    if len(value) > ID_MAX_LENGTH:
        return f"An id is at most {ID_MAX_LENGTH} characters; this one has {len(value)}."
    if any(_is_control(c) for c in value):
        return "An id cannot contain control characters (NUL, tab, newline and the like)."
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        return "An id cannot contain a lone UTF-16 surrogate."
    segments = value.split("/")
    if "" in segments:
        return 'An id cannot start or end with "/", nor hold "//".'
    if any(segment in (".", "..") for segment in segments):
        return 'An id cannot have "." or ".." between slashes.'
    return None


def is_stored_id(value: str) -> bool:
    """Could a row hold this id, even one created before ids were checked? Look-ups by anything else find
    nothing without asking the database (which may refuse NUL)."""
    return 0 < len(value) <= ID_MAX_LENGTH and "\x00" not in value


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0

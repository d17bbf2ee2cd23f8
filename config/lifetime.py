"""A process that must not outlive the one that started it (`make run`'s workers and scheduler)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def end_with_parent() -> bool:
    """Have the kernel kill this process (SIGKILL) as soon as its parent ends; False where that cannot be asked
    (not Linux). A process whose parent already ended is killed at once."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:  # the parent ended before the request was made: nobody would send the signal
        os.kill(os.getpid(), signal.SIGKILL)
    return True

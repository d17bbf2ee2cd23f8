"""The console's banner when jobs wait and no worker answers: a job has waited longer than
WORKER_MISSING_AFTER_SECONDS and no worker has answered within that time.

It runs on every console page, so it must cost almost nothing: the count of waiting jobs is cached for a few
seconds, the workers are asked only when none has been seen for WORKER_MISSING_AFTER_SECONDS, and then by at most
one request every few seconds across all web processes (the others read what it found)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from apps.ops import workers
from apps.ops.selectors import Waiting, waiting_jobs

WAITING_KEY = "ops:jobs:waiting"
WAITING_SECONDS = 5.0
PROBING_KEY = "ops:workers:probing"
PROBE_EVERY_SECONDS = 5.0


@dataclass(frozen=True)
class MissingWorkers:
    waiting: int
    silent_seconds: int | None  # None: no worker has answered since the cache was last emptied
    threshold_seconds: int


def worker_banner(request: HttpRequest) -> dict[str, Any]:
    # Pages answered before authentication (a 413 from apps.core.middleware) have no user: they get no banner.
    user = getattr(request, "user", None)
    if not request.path.startswith("/console/") or user is None or not user.is_authenticated:
        return {}
    try:
        return {"missing_workers": missing_workers()}
    except (redis.RedisError, OSError):
        # The cache lives in Redis when the broker does: a page must not fail because the banner cannot tell.
        return {}


def missing_workers() -> MissingWorkers | None:
    threshold = int(settings.WORKER_MISSING_AFTER_SECONDS)
    # Most pages stop here, on one cache read: a worker answered recently.
    if _seen_within(threshold):
        return None
    waiting = _waiting()
    # A job that has waited less than the threshold says nothing yet: the workers may simply be busy or starting.
    if waiting.oldest_created_at is None or _age(waiting.oldest_created_at) < threshold:
        return None
    if cache.add(PROBING_KEY, 1, timeout=PROBE_EVERY_SECONDS) and workers.ping_workers():
        return None
    if _seen_within(threshold):  # another process's probe found one meanwhile
        return None
    seen = workers.last_seen()
    silent = int(time.time() - seen) if seen is not None else None
    return MissingWorkers(waiting=waiting.count, silent_seconds=silent, threshold_seconds=threshold)


def _age(instant: datetime) -> float:
    return (timezone.now() - instant).total_seconds()


def _seen_within(seconds: int) -> bool:
    seen = workers.last_seen()
    return seen is not None and time.time() - seen < seconds


def _waiting() -> Waiting:
    cached: Waiting | None = cache.get(WAITING_KEY)
    if cached is None:
        cached = waiting_jobs()
        cache.set(WAITING_KEY, cached, timeout=WAITING_SECONDS)
    return cached

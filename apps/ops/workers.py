"""What the workers are doing, from Celery's remote control and the broker, cached so that many open pages cost one
round of questions.

Asking workers is a broadcast that waits for answers: a ping waits its whole timeout, since nobody knows how many
workers there are. The ping's answers name the workers; the inspections that follow are addressed to exactly those
and return as soon as each has answered. Whenever any worker answers, the time is kept in the cache as "last seen",
which the console's banner reads (apps/ops/context.py) without asking the workers itself more than once every few
seconds.

Workers also send Celery's heartbeat event every 2 s (unless started with --without-heartbeat; task events, -E, are
not needed for it). Rather than keep an event consumer running in every web process, as Flower does, each worker
writes the time of its own heartbeat into the cache as it sends it (config/celery.py: record_heartbeat), and the
page reads those times: a heartbeat counts as "last seen" too."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from kombu.exceptions import OperationalError

from apps.ops.checks import OK, broker_check, redis_client
from config.celery import app

# How long one picture of the workers is shown before someone asks again, and how long a ping waits for answers.
OVERVIEW_SECONDS = 5.0
PING_TIMEOUT_SECONDS = 1.0
OVERVIEW_KEY = "ops:workers:overview"
REFRESHING_KEY = "ops:workers:refreshing"
LAST_SEEN_KEY = "ops:workers:last-seen"
HEARTBEAT_KEY = "ops:workers:heartbeat:"  # + the worker's hostname
# A heartbeat time is kept long enough to say "last heartbeat 3 h ago" of a worker that answers pings but whose
# heartbeats stopped; a worker that is gone is no longer asked about.
HEARTBEAT_KEEP_SECONDS = 24 * 3600
# kombu's Redis transport keeps a queue's higher priorities in lists named after it with this separator.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)


@dataclass(frozen=True)
class Worker:
    hostname: str
    queues: list[str]
    concurrency: int | None
    running: int
    uptime_seconds: int | None
    answered_at: float  # time.time() of its ping answer
    heartbeat_at: float | None = None  # time.time() of its last heartbeat; None: none recorded


@dataclass(frozen=True)
class QueueDepth:
    name: str
    waiting: int | None  # None: the broker cannot say (the file broker) or did not answer


@dataclass(frozen=True)
class WorkersSnapshot:
    broker: str  # "ok", or why the broker did not answer (apps.ops.checks)
    workers: list[Worker]
    queues: list[QueueDepth]
    taken_at: float


def workers_snapshot() -> WorkersSnapshot:
    """The cached picture, or a new one when it is older than OVERVIEW_SECONDS. While one request asks the workers,
    others show the previous picture rather than ask too."""
    cached: WorkersSnapshot | None = cache.get(OVERVIEW_KEY)
    fresh = cached is not None and time.time() - cached.taken_at < OVERVIEW_SECONDS
    if cached is not None and (fresh or not cache.add(REFRESHING_KEY, 1, timeout=OVERVIEW_SECONDS)):
        return cached
    snapshot = WorkersSnapshot(
        broker=broker_check(), workers=ask_workers(), queues=queue_depths(), taken_at=time.time()
    )
    cache.set(OVERVIEW_KEY, snapshot, timeout=None)
    cache.delete(REFRESHING_KEY)
    return snapshot


def ask_workers() -> list[Worker]:
    answered = ping_workers()
    if not answered:
        return []
    now = time.time()
    inspect = app.control.inspect(destination=answered, limit=len(answered), timeout=PING_TIMEOUT_SECONDS)
    try:
        stats, active, queues = inspect.stats() or {}, inspect.active() or {}, inspect.active_queues() or {}
    except (OperationalError, OSError):
        # The broker went away between the ping and now: show the workers by name, without their details.
        stats, active, queues = {}, {}, {}
    heartbeats = cache.get_many([HEARTBEAT_KEY + name for name in answered])
    return [
        _worker(
            name, stats.get(name, {}), active.get(name), queues.get(name), now, heartbeats.get(HEARTBEAT_KEY + name)
        )
        for name in sorted(answered)
    ]


def ping_workers() -> list[str]:
    """The names of the workers that answer a ping now; records "last seen" when any does."""
    # Celery retries a broadcast to a broker that is down for several seconds, then raises: a quick look first
    # keeps a page from hanging (and failing) while Redis is away. No broker, no worker can answer.
    if broker_check() != OK:
        return []
    try:
        replies: list[dict[str, Any]] = app.control.ping(timeout=PING_TIMEOUT_SECONDS) or []
    except (OperationalError, OSError):
        return []
    names = [name for reply in replies for name in reply]
    if names:
        cache.set(LAST_SEEN_KEY, time.time(), timeout=None)
    return names


def record_heartbeat(hostname: str) -> None:
    """Called in the worker as it sends a heartbeat: the page shows when, and the banner counts it as "seen"."""
    now = time.time()
    cache.set(HEARTBEAT_KEY + hostname, now, timeout=HEARTBEAT_KEEP_SECONDS)
    cache.set(LAST_SEEN_KEY, now, timeout=None)


def last_seen() -> float | None:
    """When a worker last answered (time.time()), as far as this installation's cache knows."""
    value = cache.get(LAST_SEEN_KEY)
    return float(value) if value is not None else None


def _worker(
    name: str,
    stats: dict[str, Any],
    active: list[Any] | None,
    queues: list[dict[str, Any]] | None,
    now: float,
    heartbeat: Any,
) -> Worker:
    pool = stats.get("pool") or {}
    concurrency = pool.get("max-concurrency")
    uptime = stats.get("uptime")
    return Worker(
        hostname=name,
        queues=sorted(str(queue.get("name")) for queue in queues or []),
        concurrency=int(concurrency) if isinstance(concurrency, int) else None,
        running=len(active or []),
        uptime_seconds=int(uptime) if isinstance(uptime, (int, float)) else None,
        answered_at=now,
        heartbeat_at=float(heartbeat) if isinstance(heartbeat, (int, float)) else None,
    )


def queue_depths() -> list[QueueDepth]:
    names = list(settings.CELERY_TASK_QUEUES or [settings.CELERY_TASK_DEFAULT_QUEUE])
    url = str(settings.CELERY_BROKER_URL)
    if not url.startswith(("redis://", "rediss://")):
        # The file broker keeps messages as files of all queues in one folder: it cannot count one queue.
        return [QueueDepth(name, None) for name in names]
    client = redis_client(url)
    try:
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                for key in _priority_lists(name):
                    pipe.llen(key)
            lengths = pipe.execute()
    except (redis.RedisError, OSError):
        return [QueueDepth(name, None) for name in names]
    per_queue = len(PRIORITY_STEPS) + 1
    return [
        QueueDepth(name, sum(int(n) for n in lengths[i * per_queue : (i + 1) * per_queue]))
        for i, name in enumerate(names)
    ]


def _priority_lists(queue: str) -> list[str]:
    return [queue, *(f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS)]

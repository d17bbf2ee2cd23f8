import os
from pathlib import Path
from typing import Any

from celery import Celery, signals

from config.env import load_env
from config.lifetime import end_with_parent

# The worker and the scheduler read .env and the local keys exactly as manage.py and the web server do.
load_env()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("ai_service_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
def _check_database_connections(**kwargs: Any) -> None:
    # What Django does at the start of each request: drop connections that failed or outlived CONN_MAX_AGE, and
    # health-check the rest on first use. Celery's own handling (closing every connection around every task)
    # is turned off by CELERY_DB_REUSE_MAX, because reconnecting cost more than a small job.
    from django.db import close_old_connections

    close_old_connections()


def _mark_ready(name: str) -> None:
    # `make run` waits for these files before it prints the address and the first administrator's sign-in.
    folder = os.environ.get("MAKE_RUN_READY_DIR")
    if folder:
        Path(folder, name).touch()


@signals.worker_ready.connect
def _worker_ready(**kwargs: Any) -> None:
    # `make run` starts two workers, one per queue (Procfile): the agent runs' one says so.
    _mark_ready(os.environ.get("MAKE_RUN_READY_NAME") or "worker")


@signals.worker_ready.connect
def _serve_metrics(**kwargs: Any) -> None:
    # In the main process, which outlives its pool's children: it serves what they all counted (apps/ops/metrics.py).
    from django.conf import settings

    if settings.WORKER_METRICS_PORT:
        from apps.ops.metrics import serve_worker_metrics

        serve_worker_metrics(settings.WORKER_METRICS_PORT)


@signals.beat_init.connect
def _beat_ready(**kwargs: Any) -> None:
    _mark_ready("beat")


@signals.worker_init.connect
@signals.worker_process_init.connect
@signals.beat_init.connect
def _end_with_make_run(**kwargs: Any) -> None:
    # Under `make run`, a worker (and each of its pool processes) or the scheduler ends with the process that started
    # it. Stopped in a hurry (TERM, then KILL a few seconds later), a worker waiting in its pool's shutdown for pool
    # processes that were already killed would otherwise be left running, holding its queue.
    if os.environ.get("MAKE_RUN_READY_DIR"):
        end_with_parent()

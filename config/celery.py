import logging
import os
from pathlib import Path
from typing import Any

from celery import Celery, signals

from config.env import load_env

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


@signals.heartbeat_sent.connect
def _heartbeat_sent(sender: Any, **kwargs: Any) -> None:
    # The workers page shows each worker's last heartbeat (apps/ops/workers.py). Sent from the worker's event loop
    # every 2 s: a cache that cannot be written must not stop the worker, and the next beat tries again.
    from apps.ops.workers import record_heartbeat

    try:
        record_heartbeat(str(sender.eventer.hostname))
    except Exception:
        logging.getLogger(__name__).debug("Could not record the worker's heartbeat", exc_info=True)


@signals.worker_ready.connect
def _worker_ready(**kwargs: Any) -> None:
    # `make run` starts two workers, one per queue (Procfile): the agent runs' one says so.
    _mark_ready(os.environ.get("MAKE_RUN_READY_NAME") or "worker")


@signals.beat_init.connect
def _beat_ready(**kwargs: Any) -> None:
    _mark_ready("beat")

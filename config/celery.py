import contextvars
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from celery import Celery, signals

from apps.core import logs
from config.env import load_env
from config.lifetime import end_with_parent

# The worker and the scheduler read .env and the local keys exactly as manage.py and the web server do.
load_env()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

logger = logging.getLogger(__name__)
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


# Task headers that carry the log context of the process that sent the task (a request, usually) to the worker.
CONTEXT_HEADERS = {"request_id": "log_request_id", "tenant": "log_tenant"}


@signals.before_task_publish.connect
def _send_log_context(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is None:
        return
    context = logs.current()
    for field, header in CONTEXT_HEADERS.items():
        if field in context:
            headers.setdefault(header, context[field])


# The context each running task replaced, by task id, given back when it ends (a task run in the caller's own
# thread, as an eager one is, must not take the caller's context away).
_replaced: dict[str, contextvars.Token[Mapping[str, str]]] = {}


@signals.task_prerun.connect
def _enter_log_context(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    # A task's lines carry the request that sent it, and nothing of the task the process ran before.
    request = getattr(task, "request", None)
    _replaced[task_id] = logs.enter(
        {field: getattr(request, header, None) for field, header in CONTEXT_HEADERS.items()}
    )


@signals.task_postrun.connect
def _leave_log_context(task_id: str = "", **kwargs: Any) -> None:
    token = _replaced.pop(task_id, None)
    if token is not None:
        logs.leave(token)


def _setup_logging(loglevel: int | None = None, **kwargs: Any) -> None:
    """Celery configures no logging of its own when this receives its setup_logging signal: the worker and the
    scheduler then write through Django's LOGGING (apps/core/logs.py), at the level of their --loglevel."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)
    logging.captureWarnings(True)


def _quiet_banner(instance: Any = None, **kwargs: Any) -> None:
    # The worker's banner is printed, not logged: it would be the one block of lines that is not JSON.
    if instance is not None:
        instance.quiet = True


def _quiet_shutdown(sender: Any = None, **kwargs: Any) -> None:
    # Celery prints "worker: Warm shutdown (MainProcess)" when stopped (SIGTERM, as by `docker stop`) or "Cold" on
    # SIGQUIT, past any logging: its handlers are installed again without the print, and _log_shutdown says it.
    from celery.apps import worker as program

    controller = getattr(sender, "controller", None)
    if controller is None or threading.current_thread() is not threading.main_thread():
        return  # signal handlers belong to the main thread; a worker run in a thread (tests) has none of its own
    program.install_worker_term_handler(controller, verbose=False)
    program.install_worker_term_hard_handler(controller, verbose=False)


def _log_shutdown(sig: str = "", how: str = "", **kwargs: Any) -> None:
    logger.info("worker: %s shutdown (%s)", how, sig)


if logs.format_from_env() == "json":
    # With LOG_FORMAT=plain Celery keeps its own format, as it always had.
    signals.setup_logging.connect(_setup_logging, weak=False)
    signals.celeryd_init.connect(_quiet_banner, weak=False)
    signals.worker_ready.connect(_quiet_shutdown, weak=False)
    signals.worker_shutting_down.connect(_log_shutdown, weak=False)


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

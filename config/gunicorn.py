"""gunicorn's settings (`gunicorn --config python:config.gunicorn config.wsgi`): its own lines in the same format as
every other process's, LOG_FORMAT=json included, and no access log of its own: the application's middleware writes
one access line per request, with the route, the status, the duration and the request id
(apps.core.middleware.RequestLogMiddleware)."""

import logging

from apps.core import logs
from config.env import env_str, load_env

# The master process reads .env and the local keys as the application does, before it has loaded the application.
load_env()

accesslog = None
# No control socket (gunicorn 25.1 on): its default path is one per user ($HOME/.gunicorn/gunicorn.ctl), so two
# consoles on one machine, or `make run` beside the tests, would take it from each other; nothing here uses gunicornc.
control_socket_disable = True
if logs.format_from_env() == "json":
    logconfig_dict = logs.logging_config("json", env_str("LOG_LEVEL", "INFO"))
    logging.captureWarnings(True)

import gc
import os

from config.env import load_env

load_env()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
# Read by the settings: a web process prepares the statements it runs often (DATABASE_PREPARE_THRESHOLD).
os.environ["APP_WEB_PROCESS"] = "true"

from django.core.wsgi import get_wsgi_application  # noqa: E402  # after the environment is complete
from django.urls import get_resolver  # noqa: E402

application = get_wsgi_application()

# What a web process loads once (modules, models, the URL patterns and the views they import) lives as long as the
# process: moved out of the garbage collector's sight, so that its full collections, which every thread of the
# process waits for, look at what requests leave behind only. Under load they took 110 to 220 ms each, and were
# most of the API's slowest answers (bench/load.py); frozen, 20 to 30 ms.
get_resolver().url_patterns  # noqa: B018  # imports every view module now rather than on the first request
gc.freeze()

import os

from config.env import load_env

load_env()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

from django.core.wsgi import get_wsgi_application  # noqa: E402  # after the environment is complete

application = get_wsgi_application()

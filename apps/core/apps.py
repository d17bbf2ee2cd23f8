from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        import logging

        from django.conf import settings

        # Warnings become log lines (logger py.warnings), in JSON like every other line.
        if settings.LOG_FORMAT == "json":
            logging.captureWarnings(True)

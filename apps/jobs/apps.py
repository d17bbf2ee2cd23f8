from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "apps.jobs"
    label = "jobs"

    def ready(self) -> None:
        from apps.core import openapi
        from apps.jobs.api.schema import COMPONENTS, TRANSFER_COMPONENTS

        openapi.register(COMPONENTS, TRANSFER_COMPONENTS, path_parameters={"job_id": "jobId"})

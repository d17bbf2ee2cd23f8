from django.apps import AppConfig


class AgenticConfig(AppConfig):
    """Agent runs: the chat endpoints, commerce events, the runtime that runs an agent in a worker, and the
    request and session logs a run writes."""

    name = "apps.agentic"
    label = "agentic"

    def ready(self) -> None:
        from apps.agentic.api.schema import COMPONENTS
        from apps.agentic.ending import AgentRunEnding
        from apps.agentic.events import schema as events_schema
        from apps.agentic.events.services import event_secrets_reencrypt
        from apps.agentic.runner import run_agent_job
        from apps.agents.services import OTHER_REENCRYPTIONS
        from apps.core import openapi
        from apps.jobs.endings import register_ending
        from apps.jobs.models import Job
        from apps.jobs.runners import register_runner

        register_runner(Job.Type.AGENT_CHAT, run_agent_job)
        register_ending(Job.Type.AGENT_CHAT, AgentRunEnding())
        if event_secrets_reencrypt not in OTHER_REENCRYPTIONS:
            OTHER_REENCRYPTIONS.append(event_secrets_reencrypt)
        openapi.register(COMPONENTS, path_parameters={"request_id": "requestId", "session_id": "sessionId"})
        openapi.register(events_schema.COMPONENTS)

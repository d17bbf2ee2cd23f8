from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "apps.agents"
    label = "agents"

    def ready(self) -> None:
        from apps.agents.api.schema import COMPONENTS
        from apps.core import openapi

        published = {"agent_id": "agentId", "tool_id": "toolId", "mcp_server_id": "mcpServerId", "token_id": "tokenId"}
        openapi.register(COMPONENTS, path_parameters=published)

from django.urls import path

from apps.agents.api.views import VIEWS
from apps.agents.models import Kind
from apps.core import converters  # noqa: F401  # registers the stored_id converter

_PATHS = {
    Kind.AGENT: ("agents", "agent_id", "agent"),
    Kind.TOOL: ("tools", "tool_id", "tool"),
    Kind.MCP_SERVER: ("mcp-servers", "mcp_server_id", "mcp-server"),
    Kind.TOKEN: ("tokens", "token_id", "token"),
}

# Literal paths (`search`, and any other fixed segment such as an export or import operation) must come before
# the `{id}` path of the same kind, which would otherwise take them for an id.
urlpatterns = [
    pattern
    for kind, (segment, kwarg, name) in _PATHS.items()
    for pattern in (
        path(f"ai-service/<str:tenant>/agentic/{segment}", VIEWS[kind].list.as_view(), name=f"{name}-list"),
        path(f"ai-service/<str:tenant>/agentic/{segment}/search", VIEWS[kind].search.as_view(), name=f"{name}-search"),
        path(
            f"ai-service/<str:tenant>/agentic/{segment}/<stored_id:{kwarg}>",
            VIEWS[kind].detail.as_view(),
            name=f"{name}-detail",
        ),
    )
]

from django.urls import path

from apps.agents.api import views
from apps.core import converters  # noqa: F401  # registers the stored_id converter

_BASE = "ai-service/<str:tenant>/agentic"

# Literal paths (`search`, and any other fixed segment such as an export or import operation) must come before
# the `{id}` path of the same kind, which would otherwise take them for an id.
urlpatterns = [
    path(f"{_BASE}/agents", views.AgentListView.as_view(), name="agent-list"),
    path(f"{_BASE}/agents/search", views.AgentSearchView.as_view(), name="agent-search"),
    path(f"{_BASE}/agents/<stored_id:agent_id>", views.AgentDetailView.as_view(), name="agent-detail"),
    path(f"{_BASE}/tools", views.ToolListView.as_view(), name="tool-list"),
    path(f"{_BASE}/tools/search", views.ToolSearchView.as_view(), name="tool-search"),
    path(f"{_BASE}/tools/<stored_id:tool_id>", views.ToolDetailView.as_view(), name="tool-detail"),
    path(f"{_BASE}/mcp-servers", views.McpServerListView.as_view(), name="mcp-server-list"),
    path(f"{_BASE}/mcp-servers/search", views.McpServerSearchView.as_view(), name="mcp-server-search"),
    path(
        f"{_BASE}/mcp-servers/<stored_id:mcp_server_id>", views.McpServerDetailView.as_view(), name="mcp-server-detail"
    ),
    path(f"{_BASE}/tokens", views.TokenListView.as_view(), name="token-list"),
    path(f"{_BASE}/tokens/search", views.TokenSearchView.as_view(), name="token-search"),
    path(f"{_BASE}/tokens/<stored_id:token_id>", views.TokenDetailView.as_view(), name="token-detail"),
]

from django.urls import URLPattern, URLResolver, path

from apps.agentic.api import chat, logs
from apps.core import converters  # noqa: F401  # registers the opaque_id converter

_BASE = "ai-service/<str:tenant>/agentic"

urlpatterns: list[URLPattern | URLResolver] = [
    path(f"{_BASE}/chat", chat.ChatView.as_view(), name="agentic-chat"),
    path(f"{_BASE}/chat-async", chat.ChatAsyncView.as_view(), name="agentic-chat-async"),
    path(f"{_BASE}/logs/requests", logs.RequestListView.as_view(), name="agentic-requests"),
    path(f"{_BASE}/logs/requests/search", logs.RequestSearchView.as_view(), name="agentic-requests-search"),
    path(f"{_BASE}/logs/requests/<opaque_id:request_id>", logs.RequestDetailView.as_view(), name="agentic-request"),
    path(f"{_BASE}/logs/sessions", logs.SessionListView.as_view(), name="agentic-sessions"),
    path(f"{_BASE}/logs/sessions/search", logs.SessionSearchView.as_view(), name="agentic-sessions-search"),
    path(f"{_BASE}/logs/sessions/<opaque_id:session_id>", logs.SessionDetailView.as_view(), name="agentic-session"),
    path(f"{_BASE}/commerce-events", logs.CommerceEventsView.as_view(), name="agentic-commerce-events"),
]

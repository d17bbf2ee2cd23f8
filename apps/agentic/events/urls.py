from django.urls import URLPattern, URLResolver, path

from apps.agentic.events import views

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "ai-service/<str:tenant>/agentic/commerce-events/inbox",
        views.CommerceEventInboxView.as_view(),
        name="commerce-events-inbox",
    ),
]

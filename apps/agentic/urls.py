from django.urls import include, path

urlpatterns = [
    path("", include("apps.agentic.api.urls")),
    path("", include("apps.agentic.events.urls")),
]

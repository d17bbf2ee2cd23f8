"""Console pages about commerce events (apps/console/events/views.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from apps.console.events import views

urlpatterns: list[URLPattern] = [
    path("events/", views.events_page, name="events"),
    path("events/secret", views.events_secret, name="events-secret"),
    path("events/rotate", views.events_rotate, name="events-rotate"),
]

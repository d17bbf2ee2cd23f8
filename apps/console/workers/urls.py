from django.urls import URLPattern, path

from apps.console.workers import views

urlpatterns: list[URLPattern] = [
    path("workers/", views.workers_page, name="workers"),
]

"""The project's URLs and error handlers, plus a console page and an API path that fail, for the 500 tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401  # the handlers under test
from config.urls import urlpatterns as project_urlpatterns


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug, with a secret-looking detail: postgres://user:hunter2@db/prod")


urlpatterns = [
    path("console/boom/", boom),
    path("ai-service/v1/boom", boom),
    *project_urlpatterns,
]

"""The console's own sign-in page: the local password form and, when configured, the company's provider.

The Django admin keeps its sign-in page for platform administrators; console users never land there."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden


class ConsoleLoginView(LoginView):
    template_name = "console/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # With local sign-in off, passwords are not a way in, even for a form posted by hand.
        if not settings.CONSOLE_LOCAL_LOGIN:
            return HttpResponseForbidden("Sign in with your company account.")
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["next_url"] = self.get_redirect_url() or settings.LOGIN_REDIRECT_URL
        return context

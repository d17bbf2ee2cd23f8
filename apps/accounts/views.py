"""The console's own sign-in page: the local password form and, when configured, the company's provider.

The Django admin keeps its sign-in page for platform administrators; console users never land there. A user
who signs in with a one-time password (made by create_user or the members page) gets no session until they have
chosen their own."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_post_parameters

from apps.accounts.users import local_user_choose_password, password_change_required

PENDING = "console_one_time_sign_in"  # session key: (user id, when, where to go next)
PENDING_SECONDS = 600
LOCAL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class ConsoleLoginView(LoginView):
    template_name = "console/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # With local sign-in off, passwords are not a way in, even for a form posted by hand.
        if not settings.CONSOLE_LOCAL_LOGIN:
            return HttpResponseForbidden("Sign in with your company account.")
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if password_change_required(user=user):
            self.request.session[PENDING] = [user.pk, time.time(), self.get_success_url()]
            return redirect("console:login-new-password")
        return super().form_valid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["next_url"] = self.get_redirect_url() or settings.LOGIN_REDIRECT_URL
        return context


@sensitive_post_parameters()
def choose_new_password(request: HttpRequest) -> HttpResponse:
    """After a one-time password was accepted: the user's own password, then the session."""
    user, next_url = _pending_user(request)
    if user is None:
        request.session.pop(PENDING, None)
        return redirect("console:login")
    form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            _choose(user, form.cleaned_data["new_password1"])
        except ValidationError as exc:
            form.add_error("new_password1", exc)
        else:
            request.session.pop(PENDING, None)
            auth_login(request, user, backend=LOCAL_BACKEND)
            return HttpResponseRedirect(next_url)
    response = render(request, "console/login_new_password.html", {"form": form, "member": user})
    add_never_cache_headers(response)
    return response


def _choose(user: Any, password: str) -> None:
    if user.check_password(password):
        raise ValidationError("Choose a password of your own, not the one you were given.")
    local_user_choose_password(user=user, password=password)


def _pending_user(request: HttpRequest) -> tuple[Any, str]:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending[1] > PENDING_SECONDS:
        return None, ""
    user = get_user_model().objects.filter(pk=pending[0], is_active=True).first()
    if user is None or not password_change_required(user=user):
        return None, ""
    return user, str(pending[2])

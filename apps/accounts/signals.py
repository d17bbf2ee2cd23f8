"""A one-time password opens no session anywhere: only the console's sign-in lets its owner choose their own
password first (apps/accounts/views.py), so a sign-in by any other form (the Django admin's) is undone at once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from apps.accounts.users import password_change_required


@receiver(user_logged_in)
def refuse_one_time_password_sessions(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and password_change_required(user=user):
        logout(request)

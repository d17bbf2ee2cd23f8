from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Create the first platform administrator when the console has no user who can sign in with a password, "
        "and print how to sign in. Does nothing otherwise (`make run` calls it on every start)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.CONSOLE_LOCAL_LOGIN:
            return  # administrators sign in at the company's provider
        users = get_user_model().objects
        # Django marks an unusable password with a leading "!": such users sign in at the provider only.
        unusable = "!"
        if users.filter(is_superuser=True, is_active=True).exclude(password__startswith=unusable).exists():
            return
        password = secrets.token_urlsafe(12)
        user = users.filter(username=options["username"]).first()
        if user is None:
            users.create_superuser(username=options["username"], email="", password=password)
        else:
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(password)
            user.save()
        self.stdout.write(
            f"First administrator: sign in at http://127.0.0.1:8000/console/ as {options['username']!r} with the "
            f"password {password!r} (shown only now; change it with `manage.py changepassword`)."
        )

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

FIRST_ADMIN_FILE = "first-admin.txt"


def first_admin_path() -> Path:
    return Path(settings.VAR_DIR) / FIRST_ADMIN_FILE


def default_sign_in_url() -> str:
    # `make run` passes the real address; run by hand, the command names the one `make run` would use.
    host = os.environ.get("HOST") or "127.0.0.1"
    port = os.environ.get("PORT") or "8000"
    return f"http://{host}:{port}/console/login/"


def free_username(base: str) -> str:
    """`base`, or `base-2`, `base-3`... : the first name no user has (compared as the sign-in form does)."""
    users = get_user_model().objects
    candidate, number = base, 1
    while users.filter(username__iexact=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def write_owner_only(path: Path, text: str) -> None:
    # Created 0600 from the start (never briefly readable by others), and tightened if it already existed.
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


class Command(BaseCommand):
    help = (
        "Create the first platform administrator when the console has no superuser, under a free username "
        "(admin, admin-2, ...), print how to sign in and write it to var/first-admin.txt (readable only by its "
        "owner). Never changes an existing user; does nothing when a superuser exists (`make run` calls it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin", help="the name to use when no user has it yet")
        parser.add_argument("--url", default="", help="the console's sign-in address to print")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.CONSOLE_LOCAL_LOGIN:
            return  # administrators sign in at the company's provider
        users = get_user_model().objects
        # Any active superuser, even one who signs in only at the provider, administers the console: a second,
        # local one would be a password nobody asked for.
        if users.filter(is_superuser=True, is_active=True).exists():
            return
        username = free_username(options["username"])
        password = secrets.token_urlsafe(12)
        users.create_superuser(username=username, email="", password=password)
        url = options["url"] or default_sign_in_url()
        text = (
            "First administrator of the console:\n"
            f"  sign in at  {url}\n"
            f"  username    {username}\n"
            f"  password    {password}\n"
            f"Change the password with `.venv/bin/python manage.py changepassword {username}`.\n"
        )
        write_owner_only(first_admin_path(), text)
        self.stdout.write(f"{text}Also written to {first_admin_path()} (readable only by you).")

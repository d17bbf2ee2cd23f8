from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.users import ROLE_FORMS, local_user_create, roles_describe, roles_parse


class Command(BaseCommand):
    help = (
        "Create a console user who signs in with a password at /console/login/, with their roles. Prints a "
        "one-time password, or takes the password from standard input with --password-stdin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--role", action="append", required=True, dest="roles", metavar="ROLE", help=ROLE_FORMS)
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        password = sys.stdin.readline().rstrip("\r\n") if options["password_stdin"] else None
        try:
            roles = roles_parse(options["roles"])
            issued = local_user_create(
                username=options["username"], email=options["email"], roles=roles, password=password
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Created the user {issued.user.username!r}: {roles_describe(roles)}.")
        if password is None:
            self.stdout.write(f"One-time password (shown only now): {issued.password}")

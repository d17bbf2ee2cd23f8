from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.users import ROLE_FORMS, local_user_set_roles, roles_describe, roles_parse


class Command(BaseCommand):
    help = "Replace every role of a local console user (users of the company's provider get theirs from it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", action="append", required=True, dest="roles", metavar="ROLE", help=ROLE_FORMS)

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}; create one with create_user.")
        try:
            roles = roles_parse(options["roles"])
            local_user_set_roles(user=user, roles=roles)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"{user.username} is now: {roles_describe(roles)}.")

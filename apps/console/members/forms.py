"""Forms of the members page."""

from __future__ import annotations

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator

from apps.tenants.models import Membership


class MemberAddForm(forms.Form):
    class Kind:
        NEW, EXISTING = "new", "existing"

    kind = forms.ChoiceField(
        label="Who",
        choices=[(Kind.NEW, "A new local user"), (Kind.EXISTING, "An existing local user")],
        initial=Kind.NEW,
        widget=forms.RadioSelect,
    )
    username = forms.CharField(label="User name", max_length=150, validators=[UnicodeUsernameValidator()])
    email = forms.EmailField(label="E-mail", required=False, help_text="New users only; optional.")
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices, initial=Membership.Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices)

"""Forms of the catalogue pages. They check what a form can (JSON syntax, sizes, ids); the resources themselves
are validated by the API's serializers and services, in the views."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings

from apps.accounts.models import Scope
from apps.agents.api.serializers import NAME_MAX_LENGTH, TOKEN_VALUE_MAX_LENGTH
from apps.agents.bundle import BundleError, bundle_decode
from apps.core.ids import ID_MAX_LENGTH, id_problem

# The largest JSON text an edit form takes: far above any real agent, far below what would hurt.
BODY_MAX_CHARS = 1_000_000


def _check_id(value: str) -> str:
    """An id as the API's PUT takes it (apps.core.ids); empty means "make one up"."""
    problem = id_problem(value) if value else None
    if problem:
        raise forms.ValidationError(problem)
    return value


class _Versioned(forms.Form):
    """`creating` drops the id field on edit (the id is in the path) and the version field on create."""

    public_id = forms.CharField(
        label="Id",
        required=False,
        max_length=ID_MAX_LENGTH,
        strip=False,
        help_text="Leave it empty for a new id.",
    )
    # The version the form was opened at: saving a newer one is refused (optimistic locking).
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)

    def __init__(self, *args: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.creating = creating
        del self.fields["version" if creating else "public_id"]

    def clean_public_id(self) -> str:
        return _check_id(str(self.cleaned_data.get("public_id") or ""))


class ResourceForm(_Versioned):
    """An agent, tool or MCP server as the JSON document the API's PUT takes."""

    body = forms.CharField(
        label="JSON",
        max_length=BODY_MAX_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100, "spellcheck": "false", "class": "json"}),
    )
    field_order = ["public_id", "body", "version"]

    def clean_body(self) -> dict[str, Any]:
        text = self.cleaned_data["body"]
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from None
        except RecursionError:
            raise forms.ValidationError("This JSON is nested too deeply.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('The JSON must be an object: {"name": ..., ...}.')
        return value

    def data_for_api(self) -> dict[str, Any]:
        body: dict[str, Any] = self.cleaned_data["body"]
        return body


class TokenForm(_Versioned):
    """A token: its name, and its value, which is written and never shown (not even back into this form)."""

    name = forms.CharField(label="Name", max_length=NAME_MAX_LENGTH, strip=False)
    value = forms.CharField(
        label="Value",
        max_length=TOKEN_VALUE_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    field_order = ["public_id", "name", "value", "version"]

    def __init__(self, *args: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, creating=creating, **kwargs)
        if not creating:
            # A token's value cannot be changed (upstream's rule), and the API ignores one sent on update: the
            # form does not offer what would be ignored. To use another secret, create a new token.
            del self.fields["value"]

    def data_for_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.cleaned_data["name"]}
        if self.cleaned_data.get("value"):
            data["value"] = self.cleaned_data["value"]
        return data


class DeleteForm(forms.Form):
    force = forms.BooleanField(
        label="Detach it from everything that uses it, then delete it (force)",
        required=False,
    )


# --- import ---------------------------------------------------------------------------------------------------------


def carry_limit() -> int:
    """How large an export file the console takes: the same IMPORT_MAX_BYTES as the API's import (Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE leaves room above it for the preview's form, which carries the bundle back)."""
    limit: int = settings.IMPORT_MAX_BYTES
    return limit


@dataclass(frozen=True)
class CheckedBundle:
    data: str
    checksum: str
    exported_at: str
    document: dict[str, Any]


class BundleUploadForm(forms.Form):
    bundle = forms.FileField(label="Export file")

    def clean_bundle(self) -> CheckedBundle:
        upload = self.cleaned_data["bundle"]
        limit = carry_limit()
        if upload.size is None or upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size or 0} bytes, larger than an import takes ({limit} bytes, IMPORT_MAX_BYTES): "
                "export fewer agents at a time."
            )
        try:
            saved = json.loads(upload.read())
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise forms.ValidationError(
                "This is not an export file: expected the JSON document {exportedAt, data, checksum} that an "
                "export saves."
            ) from None
        if not isinstance(saved, dict):
            raise forms.ValidationError(
                "This is not an export file: expected a JSON object {exportedAt, data, checksum}."
            )
        return _checked(saved.get("data"), saved.get("checksum"), saved.get("exportedAt"))


class BundleConfirmForm(forms.Form):
    """The bundle of a preview, carried back in hidden fields and checked again: nobody is trusted to have left
    it as the preview showed it."""

    bundle_data = forms.CharField(widget=forms.HiddenInput, strip=False)
    checksum = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "bundle_data" in cleaned and "checksum" in cleaned:
            try:
                cleaned["bundle"] = _checked(cleaned["bundle_data"], cleaned["checksum"], None)
            except forms.ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


def _checked(data: Any, checksum: Any, exported_at: Any) -> CheckedBundle:
    try:
        document = bundle_decode(data, checksum)
    except BundleError as exc:
        raise forms.ValidationError(f"This export cannot be imported: {exc.message}") from None
    return CheckedBundle(
        data=data, checksum=checksum, exported_at=exported_at if isinstance(exported_at, str) else "", document=document
    )


# --- API clients ----------------------------------------------------------------------------------------------------


class ApiClientForm(forms.Form):
    name = forms.CharField(label="Name", max_length=255, required=False, help_text="Who or what uses it.")
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one scope."},
    )


# The longest message the Try it panel sends to an agent.
TRY_MESSAGE_MAX_CHARS = 10_000


class AgentTryForm(forms.Form):
    """A message for an agent, and the conversation to continue (none: a new one)."""

    message = forms.CharField(
        label="Message", max_length=TRY_MESSAGE_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3})
    )
    session_id = forms.UUIDField(
        label="Session id",
        required=False,
        help_text="Empty: a new conversation. The id of an earlier run's session continues that conversation.",
    )

    def session(self) -> str | None:
        value = self.cleaned_data.get("session_id")
        return str(value) if value else None

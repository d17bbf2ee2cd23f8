"""Forms of the catalogue pages. They check what a form can (JSON syntax, sizes, ids); the resources themselves
are validated by the API's serializers and services, in the views."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from apps.accounts.models import Scope
from apps.agents.bundle import BundleError, bundle_decode
from apps.agents.models import Kind
from apps.console.catalogue.generated import Group, field_for_error, generate, merged
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
    """An agent, tool, MCP server or token: the fields generated from the API's serializer (generated.py) and,
    but for tokens, the JSON document the API's PUT takes (the Advanced tab). Both edit the same document: saved
    from the form (`save=form`), the fields are written into the JSON; saved from the Advanced tab, the JSON is
    taken as it is."""

    body = forms.CharField(
        label="JSON",
        max_length=BODY_MAX_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100, "spellcheck": "false", "class": "json"}),
    )
    # The generated fields the page showed: only they are written into the JSON (the JSON may have been given
    # another `type` in the Advanced tab, whose fields the page did not show; an unticked box posts nothing).
    shown = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100_000)
    field_order = ["public_id", "body", "version"]

    def __init__(
        self,
        *args: Any,
        kind: Kind,
        creating: bool,
        document: dict[str, Any],
        tokens: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, creating=creating, **kwargs)
        self.kind, self.tokens = kind, tokens
        if kind == Kind.TOKEN:
            del self.fields["body"]  # a token has no JSON to edit: its value is never shown
        elif self.is_bound:
            document = _posted_document(self.data.get("body")) or document
        self.generated = generate(kind, document, tokens=tokens, secrets=creating)
        self.fields.update(self.generated.fields)
        self.fields["shown"].initial = " ".join(self.generated.fields)

    @property
    def has_advanced(self) -> bool:
        return "body" in self.fields

    @property
    def from_form(self) -> bool:
        """Saved from the form's fields (the form's button), not from the Advanced tab's JSON."""
        return not self.has_advanced or self.data.get("save") in ("form", "switch")

    @property
    def switching(self) -> bool:
        """Asked to show the fields of another `type` or `provider` (nothing is saved)."""
        return self.has_advanced and self.data.get("save") == "switch"

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

    @sensitive_variables("values")  # a token's value, on its way to being encrypted
    def data_for_api(self) -> dict[str, Any]:
        """The document to validate and save: the JSON, with the form's fields written in when saved from them."""
        body: dict[str, Any] = self.cleaned_data.get("body", {})
        if not self.from_form:
            return body
        shown = set(self.cleaned_data.get("shown", "").split())
        values = {name: value for name, value in self.cleaned_data.items() if not shown or name in shown}
        return merged(body, self.generated.inputs, values)

    def show(self, document: dict[str, Any]) -> None:
        """Show `document` again after a refused save: the fields of its shapes (a new `type` brings its own),
        holding its values where the form did not post them, and, saved from the form, the JSON of it too, so
        that both tabs show the one document that was refused."""
        shown = generate(self.kind, document, tokens=self.tokens, secrets=self.creating)
        data: Any = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict, or a dict in tests
        for name, form_field in shown.fields.items():
            if name not in self.generated.fields or not self.from_form:
                _set(data, name, form_field)
        if self.has_advanced and self.from_form:
            # A lone surrogate (which no page can encode) stays the JSON escape it came in as.
            text = json.dumps(document, indent=2, ensure_ascii=False)
            data["body"] = text.encode("utf-8", "backslashreplace").decode("utf-8")
        data["shown"] = " ".join(shown.fields)
        for name in self.generated.fields:
            if name not in shown.fields:
                del self.fields[name]
        self.fields.update(shown.fields)
        self.generated, self.data = shown, data

    def error_field(self, path: str | None) -> str | None:
        """The field that shows an API error about `path`; None: the page's list of problems."""
        if path in ("id", "public_id"):
            return "public_id" if "public_id" in self.fields else None
        if not path or path in ("body", "metadata.version"):
            return None
        return field_for_error(self.generated.inputs, path) if self.from_form else None

    def layout(self) -> dict[str, Any]:
        """The generated fields as the template nests them: fieldsets of bound fields."""
        return self._group(self.generated.root)

    def _group(self, group: Group) -> dict[str, Any]:
        items = [
            {"group": self._group(item)} if isinstance(item, Group) else {"field": self[item.path]}
            for item in group.items
        ]
        return {"legend": group.legend, "help": group.help_text, "items": items, "advanced": group.advanced}


def _posted_document(text: Any) -> dict[str, Any] | None:
    """The posted JSON when it is an object; the form's fields are those of its shapes."""
    try:
        value = json.loads(text) if isinstance(text, str) and len(text) <= BODY_MAX_CHARS else None
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _set(data: Any, name: str, form_field: forms.Field) -> None:
    value = form_field.initial
    if isinstance(value, list) and hasattr(data, "setlist"):
        data.setlist(name, value)  # a QueryDict: a checkbox list posts one value per box
    elif isinstance(value, list):
        data[name] = value
    elif isinstance(form_field, forms.BooleanField):
        data[name] = "on" if value else ""
    else:
        data[name] = "" if value is None else value


class EnableForm(forms.Form):
    """The one-click Enable / Disable button: what to make it, at the version the page showed."""

    enabled = forms.TypedChoiceField(choices=[("true", "Enable"), ("false", "Disable")], coerce=lambda v: v == "true")
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)
    # The page to go back to (the list, with its search and page, or the detail).
    next = forms.CharField(required=False, max_length=2000)


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

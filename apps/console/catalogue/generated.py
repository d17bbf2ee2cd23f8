"""Form fields generated from the API's serializers, so the console's forms show what the API takes: a label, a
help text, a select for a choice, a checkbox for a boolean, a token picker where a field names a token, a
fieldset for a nested object. What a form cannot show simply (lists of objects, event filters) is left to the
JSON of the Advanced tab, and `merged` writes the form's values into that JSON, keeping every field the form
does not show.

The fields are named by their dot path into the resource (`llmConfig.token.id`), the path the API's validation
errors name, so an error lands next to its field (`field_for_error`). The generated fields hardly validate: the
API's serializer does, when the resource is saved.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django import forms
from rest_framework import serializers

from apps.agents.api.serializers import TokenSerializer
from apps.agents.api.serializers.agents import AgentSerializer
from apps.agents.api.serializers.base import ByKey, IdRef, Localized, http_url
from apps.agents.api.serializers.tools import MCP_SERVERS, TOOLS
from apps.agents.models import Kind, McpServer
from apps.agents.references import TOKEN_KEYS

InputKind = Literal["text", "secret", "number", "bool", "choice", "variant", "multi", "lines", "token", "id"]

# A localized text shows this many languages as fields; the others stay in the JSON, untouched.
LANGUAGES_SHOWN = 20
# Words whose capitals a label keeps.
_ACRONYMS = {"llm": "LLM", "mcp": "MCP", "url": "URL", "id": "id", "api": "API", "json": "JSON"}


@dataclass(frozen=True)
class Input:
    """One generated form field: where its value goes in the resource, and how it is written there."""

    path: str
    kind: InputKind
    required: bool  # by the serializer
    allow_blank: bool = False
    has_default: bool = False
    integer: bool = False


@dataclass
class Group:
    """A nested object of the resource (the resource itself at path ""), shown as a fieldset."""

    path: str
    legend: str
    help_text: str
    items: list[Input | Group] = field(default_factory=list)
    advanced: list[str] = field(default_factory=list)  # labels of the members only the JSON tab edits


@dataclass
class Generated:
    """The form fields of one resource document, in document order, and their layout."""

    root: Group
    fields: dict[str, forms.Field]
    inputs: dict[str, Input]


def root_field(kind: Kind) -> serializers.Field:  # type: ignore[type-arg]
    """The serializer of a kind as a field (tools and MCP servers: one shape per `type`, as validate_upsert)."""
    if kind == Kind.AGENT:
        return AgentSerializer()
    if kind == Kind.TOOL:
        return ByKey(TOOLS, key="type")
    if kind == Kind.MCP_SERVER:
        return ByKey(MCP_SERVERS, key="type")
    return TokenSerializer()


def generate(kind: Kind, document: Mapping[str, Any], *, tokens: Sequence[tuple[str, str]], secrets: bool) -> Generated:
    """The fields of a form for `document` (whose `type` or `provider` members pick the shapes shown). `tokens`
    are the (id, name) pairs a token picker offers; `secrets` offers a token's value (only on create)."""
    builder = _Builder(tokens, secrets=secrets)
    root = Group("", "", "")
    value = dict(document)
    if kind == Kind.MCP_SERVER and not value.get("type"):
        value["type"] = McpServer.Type.CUSTOM  # the API's default, which validate_upsert fills in too
    builder.fill(root, root_field(kind), value)
    return Generated(root=root, fields=builder.fields, inputs=builder.inputs)


def label_of(name: str, drf_field: serializers.Field | None = None) -> str:  # type: ignore[type-arg]
    """The serializer field's own label, else its camelCase name in words: maxTokens -> Max tokens."""
    if drf_field is not None and drf_field.label and drf_field.label != _drf_default_label(name):
        return str(drf_field.label)
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).split()
    words = [_ACRONYMS.get(word.lower(), word.lower()) for word in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _drf_default_label(name: str) -> str:
    # DRF gives an unlabelled field its name with a capital, once bound to a serializer.
    return name.replace("_", " ").capitalize()


class _Builder:
    def __init__(self, tokens: Sequence[tuple[str, str]], *, secrets: bool) -> None:
        self.tokens = list(tokens)
        self.secrets = secrets
        self.fields: dict[str, forms.Field] = {}
        self.inputs: dict[str, Input] = {}

    def fill(self, group: Group, drf_field: Any, value: Any) -> None:
        """The members of an object (a serializer, or one of a ByKey's shapes) into `group`."""
        members = value if isinstance(value, Mapping) else {}
        if isinstance(drf_field, ByKey):
            key = drf_field.key
            self._add(
                group,
                Input(_join(group.path, key), "variant", required=True),
                label_of(key),
                _variant_help(key),
                members.get(key),
                choices=[(name, name) for name in drf_field.variants],
            )
            chosen = members.get(key)
            if not isinstance(chosen, str) or chosen not in drf_field.variants:
                return  # the shape's members appear once a valid one is chosen and saved
            drf_field = drf_field.variants[chosen]()
            skip = {key}
        else:
            skip = set()
        for name, member in drf_field.fields.items():
            if name in skip or name == "metadata":  # the version is the console's to keep
                continue
            self.member(group, name, member, members)

    def member(self, group: Group, name: str, member: Any, parent: Mapping[str, Any]) -> None:
        path, value = _join(group.path, name), parent.get(name)
        if value is None and _has_default(member) and not callable(member.default):
            value = member.default  # what the API fills in when the member is absent
        label, help_text = label_of(name, member), str(member.help_text or "")
        required = bool(member.required)
        if isinstance(member, serializers.ListSerializer):
            group.advanced.append(label)
        elif isinstance(member, IdRef):
            ref = value.get("id") if isinstance(value, Mapping) else None
            if name in TOKEN_KEYS:
                self._add(group, Input(f"{path}.id", "token", required), label, help_text, ref, choices=self.tokens)
            else:
                self._add(group, Input(f"{path}.id", "id", required), f"{label} id", help_text, ref)
        elif isinstance(member, serializers.Serializer | ByKey):
            nested = Group(path, label, help_text)
            self.fill(nested, member, value)
            group.items.append(nested)
        elif isinstance(member, Localized):
            self._localized(group, path, label, help_text, member, value)
        elif isinstance(member, serializers.ListField):
            self._list(group, path, label, help_text, member, value)
        elif isinstance(member, serializers.BooleanField):
            has_default = _has_default(member)
            self._add(group, Input(path, "bool", required, has_default=has_default), label, help_text, value)
        elif isinstance(member, serializers.ChoiceField):
            choices = [(str(choice), str(text)) for choice, text in member.choices.items()]
            self._add(group, Input(path, "choice", required), label, help_text, value, choices=choices)
        elif isinstance(member, serializers.IntegerField | serializers.FloatField):
            integer = isinstance(member, serializers.IntegerField)
            limits = {"min": member.min_value, "max": member.max_value}
            attrs = {key: limit for key, limit in limits.items() if limit is not None}
            self._add(group, Input(path, "number", required, integer=integer), label, help_text, value, attrs=attrs)
        elif isinstance(member, serializers.CharField):
            kind: InputKind = "secret" if self._secret(path) else "text"
            if kind == "secret" and not self.secrets:
                return  # a token's value is written once, on create, and never shown
            long = member.max_length is None and http_url not in member.validators  # prompts, schemas; not URLs
            text = Input(path, kind, required, allow_blank=member.allow_blank)
            self._add(group, text, label, help_text, value, long=long)
        else:
            group.advanced.append(label)

    def _secret(self, path: str) -> bool:
        return path == "value"  # a token's secret (TokenSerializer); no other kind has a root `value`

    def _localized(self, group: Group, path: str, label: str, help_text: str, member: Localized, value: Any) -> None:
        # One input per language the text has (English at least); more languages are added in the JSON.
        texts = value if isinstance(value, Mapping) and value else {"en": ""}
        allow_blank = bool(member.child.allow_blank)  # type: ignore[attr-defined]
        languages = [key for key in texts if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", key)]
        for language in languages[:LANGUAGES_SHOWN]:
            text = texts[language]
            each = Input(f"{path}.{language}", "text", bool(member.required), allow_blank=allow_blank)
            self._add(group, each, f"{label} ({language})", help_text, text)

    def _list(
        self, group: Group, path: str, label: str, help_text: str, member: serializers.ListField, value: Any
    ) -> None:
        child, required = member.child, bool(member.required)
        values = value if isinstance(value, list) else []
        if isinstance(child, serializers.ChoiceField):
            choices = [(str(choice), str(text)) for choice, text in child.choices.items()]
            self._add(group, Input(path, "multi", required), label, help_text, values, choices=choices)
        elif isinstance(child, serializers.CharField) and all(isinstance(item, str) for item in values):
            self._add(group, Input(path, "lines", required), label, help_text or "One per line.", values)
        else:
            group.advanced.append(label)

    def _add(
        self,
        group: Group,
        spec: Input,
        label: str,
        help_text: str,
        value: Any,
        *,
        choices: Sequence[tuple[str, str]] = (),
        attrs: Mapping[str, Any] | None = None,
        long: bool = False,
    ) -> None:
        self.fields[spec.path] = _form_field(spec, label, help_text, value, list(choices), dict(attrs or {}), long)
        self.inputs[spec.path] = spec
        group.items.append(spec)


def _has_default(member: Any) -> bool:
    return member.default is not serializers.empty


def _variant_help(key: str) -> str:
    return f"The other fields depend on the {key}: choosing another shows its fields (nothing is saved yet)."


class VariantChoice(forms.CharField):
    """The choice of a shape (`type`, `provider`): the page offers to show the fields of another one."""

    def __init__(self, *, variant: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.variant = variant


def _form_field(
    spec: Input,
    label: str,
    help_text: str,
    value: Any,
    choices: list[tuple[str, str]],
    attrs: dict[str, Any],
    long: bool,
) -> forms.Field:
    """A form field that takes what is typed as it is: refusing is the serializer's job, on save."""
    common: dict[str, Any] = {"label": label, "help_text": help_text, "required": False}
    value = _printable(value)
    if spec.kind == "bool":
        return forms.BooleanField(initial=bool(value), **common)
    if spec.kind == "multi":
        selected = [str(item) for item in value if isinstance(item, str | int)] if isinstance(value, list) else []
        known = [choice for choice, _ in choices]
        options = choices + [(item, item) for item in selected if item not in known]
        return forms.Field(initial=selected, widget=forms.CheckboxSelectMultiple(choices=options), **common)
    if spec.kind == "lines":
        text = "\n".join(str(item) for item in value) if isinstance(value, list) else ""
        return forms.CharField(initial=text, strip=False, widget=forms.Textarea(attrs={"rows": 3}), **common)
    initial = "" if value is None or isinstance(value, dict | list | bool) else str(value)
    if spec.kind in ("choice", "variant", "token"):
        known = [choice for choice, _ in choices]
        blank = "— none —" if spec.kind == "token" else "—"
        options = [("", blank)] if not spec.required or initial not in known else []
        if initial and initial not in known:
            # A value the choices lack (a deleted token, an old type) stays visible instead of being dropped.
            options.append((initial, f"{initial} (not found)" if spec.kind == "token" else initial))
        select = forms.Select(choices=options + choices)
        if spec.kind == "variant":
            select.attrs["data-variant"] = ""
            return VariantChoice(variant=spec.path.rsplit(".", 1)[-1], initial=initial, widget=select, **common)
        return forms.CharField(initial=initial, widget=select, **common)
    if spec.kind == "secret":
        widget: forms.Widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
        return forms.CharField(strip=False, widget=widget, **common)
    if spec.kind == "number":
        step = "1" if spec.integer else "any"
        return forms.CharField(initial=initial, widget=forms.NumberInput(attrs={"step": step, **attrs}), **common)
    widget = forms.Textarea(attrs={"rows": 6}) if long else forms.TextInput()
    return forms.CharField(initial=initial, strip=False, widget=widget, **common)


def _printable(value: Any) -> Any:
    """A value a page can hold: a refused JSON may carry lone surrogates (as \\ud800 escapes), which no page can
    encode; they are shown as "?"."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_printable(item) for item in value]
    return value


# --- from the form back into the resource ----------------------------------------------------------------------------


def merged(document: Mapping[str, Any], inputs: Mapping[str, Input], values: Mapping[str, Any]) -> dict[str, Any]:
    """`document` with the form's `values` written in, field by field; whatever the form does not show is kept.
    An empty optional field removes its member, so that the API sees it absent rather than blank."""
    out: dict[str, Any] = copy.deepcopy(dict(document))
    for path, spec in inputs.items():
        if path not in values:
            continue
        raw, parts = values[path], path.split(".")
        if spec.kind in ("token", "id"):
            parts = parts[:-1]  # the reference object {"id": ...} as a whole
            _put(out, parts, {"id": raw}) if raw else _drop(out, parts)
            continue
        present = _present(document, parts)
        written = _written(spec, raw, present)
        if written is _ABSENT:
            _drop(out, parts)
        else:
            _put(out, parts, written)
    return out


_ABSENT = object()


def _written(spec: Input, raw: Any, present: bool) -> Any:
    if spec.kind == "bool":
        return bool(raw) if raw or present or spec.has_default or spec.required else _ABSENT
    if spec.kind == "multi":
        chosen = [str(item) for item in raw or []]
        return chosen if chosen or present else _ABSENT
    if spec.kind == "lines":
        lines = [line.strip() for line in str(raw or "").splitlines() if line.strip()]
        return lines if lines or present else _ABSENT
    text = "" if raw is None else str(raw)
    if spec.kind == "number":
        return _number(text, spec.integer) if text.strip() else _ABSENT
    if text == "":
        keep = spec.required or (spec.allow_blank and present)
        return "" if keep and spec.kind in ("text", "secret") else _ABSENT
    return text


def _number(text: str, integer: bool) -> Any:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        return text  # the serializer says what is wrong with it, next to the field


def _present(document: Mapping[str, Any], parts: list[str]) -> bool:
    node: Any = document
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _put(document: dict[str, Any], parts: list[str], value: Any) -> None:
    node = document
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def _drop(document: dict[str, Any], parts: list[str]) -> None:
    node: Any = document
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(parts[-1], None)


def initial_values(generated: Generated) -> dict[str, Any]:
    """The generated fields' values as a form submits them (a list for checkboxes), for rebinding a form."""
    return {name: form_field.initial for name, form_field in generated.fields.items()}


def field_for_error(inputs: Mapping[str, Input], path: str) -> str | None:
    """The generated field that shows the member an API error names (a dot path), if the form shows it: the
    field itself, the reference it holds, the first field of the object it names, or the list it is an item of."""
    if path in inputs:
        return path
    if f"{path}.id" in inputs:
        return f"{path}.id"
    inside = next((name for name in inputs if name.startswith(f"{path}.")), None)
    if inside is not None:
        return inside
    around = [name for name in inputs if path.startswith(f"{name}.")]
    return max(around, key=len) if around else None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name

"""The building blocks of the resource serializers: field helpers, the shared base class, fields that pick a
shape by one member, and the enumerations the OpenAPI document (apps/agents/api/schema.py) lists as well."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from apps.core.ids import ID_MAX_LENGTH

NAME_MAX_LENGTH = 500  # the name column
TOKEN_VALUE_MAX_LENGTH = 16_384

SLACK_OPERATIONS = ("sendMessage", "createChannel", "inviteParticipants", "collaborateOnChannel")
TEAMS_OPERATIONS = (
    "sendMessage",
    "createChat",
    "createChannel",
    "inviteParticipants",
    "collaborateOnChannel",
    "collaborateOnChat",
)
CALLER_TYPES = ("anonymous", "customer", "employee", "integration")
PREDEFINED_DOMAINS = ("customer", "extensibility", "order", "product", "frontend")
API_KEY_PROVIDERS = ("openai", "google", "anthropic")
SELF_HOSTED_PROVIDERS = ("self_hosted_ollama", "self_hosted_vllm")
LLM_PROVIDERS = ("emporix_openai", *API_KEY_PROVIDERS, *SELF_HOSTED_PROVIDERS)
TRANSPORTS = ("streamable_http", "sse")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Language tags such as en, de, en-US, zh_Hant.
LOCALE = re.compile(r"[A-Za-z0-9]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")
FILTER_MAX_DEPTH = 8


def text_field(**kwargs: Any) -> serializers.CharField:
    # Prompts and names are stored as sent: no trimming.
    return serializers.CharField(trim_whitespace=False, **kwargs)


def url_field(**kwargs: Any) -> serializers.CharField:
    return text_field(validators=[http_url], **kwargs)


def http_url(value: str) -> None:
    # Not Django's URLValidator: self-hosted services live at names such as http://mcp:8080 that it refuses.
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value) or len(value) > 2048:
        raise ValidationError("Enter an http:// or https:// URL.")


def json_text(value: str) -> None:
    try:
        json.loads(value)
    except ValueError:
        raise ValidationError("Must be a JSON document given as a string.") from None
    except RecursionError:  # the body's own depth guard cannot see inside a string
        raise ValidationError("Must be a JSON document given as a string, nested less deeply.") from None


def choice_field(choices: tuple[str, ...] | list[str], **kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=list(choices), **kwargs)


class ApiSerializer(serializers.Serializer[Any]):
    """Unknown fields are ignored (DRF's default); `null` in an optional field means the field is absent."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = {
                key: value
                for key, value in data.items()
                if value is not None or (key in self.fields and self.fields[key].required)
            }
        return super().to_internal_value(data)


class IdRef(ApiSerializer):
    """A reference to another resource, `{"id": ...}`; the rest of an expanded object is dropped."""

    id = text_field(max_length=ID_MAX_LENGTH)


class Empty(ApiSerializer):
    pass


def by_key(data: Any, variants: Mapping[str, Callable[[], serializers.BaseSerializer[Any]]], key: str) -> Any:
    """Validate an object whose fields depend on the value of its `key` member."""
    if not isinstance(data, Mapping):
        raise ValidationError("Must be an object.")
    chosen = data.get(key)
    if chosen is None:
        raise ValidationError({key: ["This field is required."]})
    if not isinstance(chosen, str) or chosen not in variants:
        raise ValidationError({key: [f"Must be one of: {', '.join(variants)}."]})
    validated = variants[chosen]().run_validation(data)
    return {key: chosen, **validated}


class ByKey(serializers.Field):  # type: ignore[type-arg]
    """A field holding one of several object shapes, told apart by one member (`type`, `provider`)."""

    def __init__(
        self, variants: Mapping[str, Callable[[], serializers.BaseSerializer[Any]]], key: str = "type", **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.variants = variants
        self.key = key

    def to_internal_value(self, data: Any) -> Any:
        return by_key(data, self.variants, self.key)

    def to_representation(self, value: Any) -> Any:
        return value


class Localized(serializers.DictField):
    """Texts by language, `{"en": "...", "de": "..."}`."""

    def __init__(self, *, allow_blank: bool, **kw: Any) -> None:
        super().__init__(child=text_field(allow_blank=allow_blank, max_length=NAME_MAX_LENGTH * 20), **kw)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, Mapping):
            bad = [key for key in data if not isinstance(key, str) or not LOCALE.fullmatch(key)]
            if bad:
                raise ValidationError(f"Keys must be language codes such as en or de-CH; not: {bad[0]!r}."[:300])
        value: dict[str, str] = super().to_internal_value(data)
        return value


class Metadata(ApiSerializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)


class AuthorizedEndpoint(ApiSerializer):
    """A service at a URL, optionally called with one of the tenant's tokens in a header of its choosing."""

    url = url_field(label="URL", help_text="An http:// or https:// address.")
    authorizationHeaderName = text_field(
        max_length=255,
        required=False,
        label="Authorization header",
        help_text="The header that carries the credential, such as Authorization.",
    )
    authorizationHeaderToken = IdRef(required=False, label="Credential", help_text="The token sent in that header.")

"""URL converters shared by the API's paths."""

from __future__ import annotations

from django.urls import register_converter


class OpaqueIdConverter:
    """An opaque resource id: anything, a percent-encoded "/" included, except a leading or trailing slash, so
    that `.../search/` stays a 404 instead of naming the resource "search/"."""

    regex = r"[^/](?:.*[^/])?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


# Registered once, here, for every urls module that imports this one: Django deprecates registering a name twice.
register_converter(OpaqueIdConverter, "opaque_id")

"""URL converters shared by the API's paths and the console's pages."""

from __future__ import annotations

from urllib.parse import quote, unquote

from django.urls import register_converter


class OpaqueIdConverter:
    """An opaque resource id: anything, a percent-encoded "/" included, except a leading or trailing slash, so
    that `.../search/` stays a 404 instead of naming the resource "search/"."""

    regex = r"[^/](?:.*[^/])?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class StoredIdConverter(OpaqueIdConverter):
    """The id of an agent, tool, MCP server or token in an API path: also one with an empty part, a leading or
    trailing "/" or a newline, so that a row stored before ids were checked (`broken/`, made by a signed bundle)
    can still be read and deleted. No such id can be created any more (apps.core.ids): `.../search/` names
    nothing, and GET or DELETE on it is a 404."""

    regex = r"[\s\S]+"


class PageIdConverter:
    """An opaque id in a console page's path, which links always percent-encode whole: a "/" becomes "%2F" (and
    Django's reverse() encodes its "%" once more, as for any "%" it is given), so whatever the id holds it stays
    one path segment. Without that, an id with ".." or a "/" makes the link open another page, even another
    tenant's. The server decodes the link once; this converter decodes the rest. A hand-typed path with a plain
    "/" inside the id still works, which is why the pattern allows one."""

    regex = r"[^/](?:[\s\S]*[^/])?"

    def to_python(self, value: str) -> str:
        return unquote(value)

    def to_url(self, value: str) -> str:
        encoded = quote(value, safe="")
        # "." is never percent-encoded by quote(), but an id made of dots alone would still be a dot segment.
        return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


# Registered once, here, for every urls module that imports this one: Django deprecates registering a name twice.
register_converter(OpaqueIdConverter, "opaque_id")
register_converter(StoredIdConverter, "stored_id")
register_converter(PageIdConverter, "page_id")

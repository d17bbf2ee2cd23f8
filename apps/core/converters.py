"""URL converters shared by the API's paths and the console's pages."""

from __future__ import annotations

from urllib.parse import quote, unquote

from django.urls import register_converter


class OpaqueIdConverter:
    """An opaque resource id in an API path: anything, a percent-encoded "/" included (servers decode it before
    routing). A leading or trailing "/" or an empty part is taken too, so that a row stored before ids were
    checked (`broken/`) can still be read and deleted: no such id can be created any more (apps.core.ids), so
    `.../search/` names nothing and answers 404."""

    regex = r"[\s\S]+"  # "." would leave out a newline

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


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
register_converter(PageIdConverter, "page_id")

"""JSON answers that carry export bundles, sent as they are read.

A bundle can be tens of megabytes. An answer that carries one (a job list, a job, a finished export) holds a
`BundleData` where the bundle's base64 goes; the answer is then rendered a job at a time, and each bundle is read
from the database in chunks as it is sent. However many large exports a page lists, a web worker holds one chunk
of one bundle at a time, never the whole answer.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.http import StreamingHttpResponse

from apps.jobs import selectors


@dataclass(frozen=True)
class BundleData:
    """Stands for the `data` of a stored export bundle until the answer is sent."""

    tenant_id: int
    job_pk: int
    size: int


def carries_bundle(value: Any) -> bool:
    if isinstance(value, BundleData):
        return True
    if isinstance(value, dict):
        return any(carries_bundle(item) for item in value.values())
    if isinstance(value, list):
        return any(carries_bundle(item) for item in value)
    return False


def streamed_json(value: Any, *, status: int = 200) -> StreamingHttpResponse:
    """The JSON text of `value` (a list is sent item by item), with every BundleData in it read in chunks."""
    chunks = _list_chunks(value) if isinstance(value, list) else _chunks(value)
    return StreamingHttpResponse(chunks, status=status, content_type="application/json")


def _list_chunks(items: Iterable[Any]) -> Iterator[bytes]:
    yield b"["
    for position, item in enumerate(items):
        if position:
            yield b","
        yield from _chunks(item)
    yield b"]"


def _chunks(value: Any) -> Iterator[bytes]:
    # Each BundleData is rendered as a marker string that nothing else can contain (a NUL, which the database
    # never stores, and a random part), then the text is cut at the markers and the bundles read in between.
    marker = f"\x00{secrets.token_hex(8)}\x00"
    bundles: list[BundleData] = []

    def placeholder(item: Any) -> str:
        if isinstance(item, BundleData):
            bundles.append(item)
            return marker
        raise TypeError(f"{type(item).__name__} is not JSON serializable")

    text = json.dumps(value, default=placeholder, ensure_ascii=False, separators=(",", ":"))
    pieces = text.split(json.dumps(marker))
    for piece, bundle in zip(pieces, bundles, strict=False):
        yield piece.encode()
        yield b'"'
        for part in selectors.export_bundle_chunks(tenant_id=bundle.tenant_id, job_pk=bundle.job_pk, size=bundle.size):
            yield part.encode("ascii")  # base64: never anything to escape in JSON
        yield b'"'
    yield pieces[-1].encode()

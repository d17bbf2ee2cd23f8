"""HTTP without a browser, as the suite's OpenID provider tests sign in: a cookie-keeping client that stays on
127.0.0.1, the hidden fields of a page's forms, and a PKCE pair."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from typing import Any


@dataclass
class Response:
    status: int
    headers: Message[str, str]
    body: bytes
    url: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def location(self) -> str | None:
        value = self.headers.get("Location")
        return urllib.parse.urljoin(self.url, value) if value else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UserAgent:
    """A cookie-keeping HTTP client that does not follow redirects and ignores proxy settings (127.0.0.1 only)."""

    def __init__(self) -> None:
        self.cookies = CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10,
    ) -> Response:
        if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise ValueError(f"only the local provider is reached from tests: {url}")
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        # S310: only http://127.0.0.1 / http://localhost, checked above.
        request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))  # noqa: S310
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self._opener.open(request, timeout=timeout) as answer:
                return Response(answer.status, answer.headers, answer.read(), url)
        except urllib.error.HTTPError as answer:
            with answer:
                return Response(answer.code, answer.headers, answer.read(), url)

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, form: Mapping[str, str], **kwargs: Any) -> Response:
        return self.request("POST", url, form=form, **kwargs)


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.by_id: dict[str, Form] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            form = Form(attributes.get("action", ""), attributes.get("method", "get").lower())
            self.forms.append(form)
            if "id" in attributes:
                self.by_id[attributes["id"]] = form
        elif tag == "input" and self.forms and attributes.get("type") == "hidden" and "name" in attributes:
            self.forms[-1].fields[attributes["name"]] = attributes.get("value", "")


def html_forms(page: str) -> list[Form]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge

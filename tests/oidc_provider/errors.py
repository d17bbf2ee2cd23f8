"""What the suite's OpenID provider raises: it could not start or answered oddly, a token was refused, a sign-in
was refused."""

from __future__ import annotations

from typing import Any


class OidcProviderError(RuntimeError):
    """The provider could not be installed, started, or answered something unexpected."""


class TokenError(Exception):
    """The token endpoint refused a request."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body.get('error')}: {body.get('error_description', '')}")
        self.status = status
        self.body = body
        self.error = body.get("error")


class LoginRefused(Exception):
    """The provider's login form came back instead of the relying party: wrong login or password."""

    def __init__(self, status: int, page: str) -> None:
        super().__init__(f"login refused ({status})")
        self.status = status
        self.page = page

"""The base of the domain errors that services raise: a write refused, with words for the person who asked.

No HTTP here: the API layers turn refusals into their answers, and the console into messages on its pages.
"""

from __future__ import annotations


class Refusal(Exception):
    """A write that cannot be done as asked; `field` names the part of the request at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

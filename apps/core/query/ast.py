"""Syntax tree of a parsed `q` expression.

Everything is frozen and uses tuples so trees compare by value, which keeps tests simple.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Op(StrEnum):
    GT = ">"
    LT = "<"
    GTE = ">="
    LTE = "<="


@dataclass(frozen=True)
class Value:
    text: str
    # Kept because a quoted "null" is a literal string, not the keyword.
    quoted: bool = False


@dataclass(frozen=True)
class Equals:
    value: Value


@dataclass(frozen=True)
class AnyOf:
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Compare:
    op: Op
    value: Value


@dataclass(frozen=True)
class AllOf:
    comparisons: tuple[Compare, ...]


@dataclass(frozen=True)
class Contains:
    value: Value


@dataclass(frozen=True)
class IsNull:
    pass


@dataclass(frozen=True)
class Exists:
    pass


@dataclass(frozen=True)
class Missing:
    pass


Condition = Equals | AnyOf | Compare | AllOf | Contains | IsNull | Exists | Missing


@dataclass(frozen=True)
class Term:
    field: str
    condition: Condition

"""Queries the ORM compiles once and the API runs many times.

Building and compiling a queryset costs more CPU than PostgreSQL spends answering a lookup by key: on the API's
most frequent request (a job by its id) it was most of the time spent in our code. A CompiledQuery asks the ORM
for the SQL of a queryset once, with example values standing for the real ones, and then runs that SQL with the
real values, converting the columns as the ORM would (JSON, dates). The SQL is the ORM's own, so it stays right as
models change; only the values differ from one run to the next.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

Converters = list[tuple[int, list[Callable[..., Any]], Any]]


class CompiledQuery:
    """`build(**values)` must return a `values()` queryset whose SQL depends on `values` only through its
    parameters; `examples` gives each value an example of its type that appears nowhere else in the query. The
    values are passed to the database as given, without the ORM's preparation of a field's value: numbers and
    text, which need none (a date, which some databases take as text, would not be found among the parameters)."""

    def __init__(self, build: Callable[..., QuerySet[Any, Any]], **examples: Any) -> None:
        self._build = build
        self._examples = examples
        self._compiled: dict[str, tuple[str, list[Any], list[tuple[int, str]], Converters, list[str]]] = {}

    def first(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> dict[str, Any] | None:
        """The query's first row for `values` as a dict of its columns, or None. The query should be sliced
        to one row (`[:1]`) when it can match more."""
        rows = self._run(using, values, many=False)
        return rows[0] if rows else None

    def all(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[dict[str, Any]]:
        """The query's rows for `values`, each a dict of its columns."""
        return self._run(using, values, many=True)

    def _run(self, using: str, values: dict[str, Any], *, many: bool) -> list[dict[str, Any]]:
        connection = connections[using]
        sql, template, slots, converters, names = self._compiled.get(connection.vendor) or self._compile(using)
        params = list(template)  # a copy: threads share the compiled query
        for position, name in slots:
            params[position] = values[name]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if many:
                rows = cursor.fetchall()
            else:
                one = cursor.fetchone()
                rows = [] if one is None else [one]
        out = []
        for row in rows:
            converted = list(row)
            for position, convs, expression in converters:
                for convert in convs:
                    converted[position] = convert(converted[position], expression, connection)
            out.append(dict(zip(names, converted, strict=True)))
        return out

    def _compile(self, using: str) -> tuple[str, list[Any], list[tuple[int, str]], Converters, list[str]]:
        queryset = self._build(**self._examples)
        compiler = queryset.query.get_compiler(using=using)
        sql, example_params = compiler.as_sql()
        slots = [
            (position, name)
            for position, param in enumerate(example_params)
            for name, example in self._examples.items()
            if type(param) is type(example) and param == example
        ]
        if sorted(name for _, name in slots) != sorted(self._examples):
            raise ValueError(f"each example must appear once among the query's parameters: {example_params!r}")
        selected = [expression for expression, _, _ in compiler.select]
        converters = [(i, convs, expr) for i, (convs, expr) in compiler.get_converters(selected).items()]
        names = [alias or expression.target.column for expression, _, alias in compiler.select]
        compiled = (sql, list(example_params), slots, converters, names)
        self._compiled[connections[using].vendor] = compiled
        return compiled

"""Validation of responses against the published operations.

The operations, as the published AI Service API defines them, are written down beside this module (our own files,
in the repository, so that the suite needs nothing outside the tree): `jobs.json` (the Job operations) and
`agentic.json` (chat, the agent logs, the commerce events list). Each file stands alone, with its own components.
`tests/test_openapi.py` checks that what `/api/schema` publishes agrees with them.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

HERE = Path(__file__).resolve().parent
CONTRACT_PATH = HERE / "jobs.json"
# Every contract file, by name; `contract()` without a name is the Job operations'.
CONTRACT_PATHS = {"jobs": CONTRACT_PATH, "agentic": HERE / "agentic.json"}


def _uri(name: str) -> str:
    return f"urn:contract:{name}"


@cache
def contract(name: str = "jobs") -> dict[str, Any]:
    return json.loads(CONTRACT_PATHS[name].read_text())


@cache
def _registry() -> Registry:
    resources = [(_uri(name), Resource(contents=contract(name), specification=DRAFT4)) for name in CONTRACT_PATHS]
    return Registry().with_resources(resources)


def _operation(path: str, method: str) -> tuple[str, str, dict[str, Any]] | None:
    """(contract name, path template, operation) of the published operation a request went to."""
    for name in CONTRACT_PATHS:
        for template, item in contract(name)["paths"].items():
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
            if re.match(pattern, path) and method.lower() in item:
                # .../search also matches .../{id}; the literal template wins.
                if template.endswith("}") and path.endswith("/search") and method.lower() == "post":
                    continue
                return name, template, item[method.lower()]
    return None


def _resolve(name: str, node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = contract(name)
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _schema_pointer(name: str, template: str, method: str, status: str, operation: dict[str, Any]) -> str | None:
    response = operation["responses"].get(status)
    if response is None:
        return None
    if "$ref" in response:
        base = response["$ref"].lstrip("#")
    else:
        escaped = template.replace("~", "~0").replace("/", "~1")
        base = f"/paths/{escaped}/{method.lower()}/responses/{status}"
    if "content" not in _resolve(name, response):
        return ""
    return f"{base}/content/application~1json/schema"


def validate_response(path: str, method: str, status: int, body: Any) -> None:
    """Raise AssertionError unless `body` is what the contract allows for this operation and status.

    A status the operation does not declare must be an error in one of the published error shapes.
    """
    found = _operation(path, method)
    if found is None:
        return
    name, template, operation = found
    pointer = _schema_pointer(name, template, method, str(status), operation)
    if pointer is None:
        assert status >= 400, f"{method} {template} answered {status}, which the contract does not declare"
        shape = "ErrorMessageFault" if status == 401 else "ErrorMessage"
        pointer = f"/components/schemas/{shape}"
    if pointer == "":
        assert body in (None, b"", ""), f"{method} {template} {status} must have no body"
        return
    validator = Draft4Validator({"$ref": f"{_uri(name)}#{pointer}"}, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method} {path} {status} breaks the contract: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )

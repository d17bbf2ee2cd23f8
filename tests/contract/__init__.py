"""Validation of responses against the published Job operations.

The operations, as the published AI Service API defines them, are written down in `jobs.json` beside this module
(our own file, in the repository, so that the suite needs nothing outside the tree). `tests/test_openapi.py`
checks that what `/api/schema` publishes agrees with it.
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

CONTRACT_URI = "urn:contract:jobs"
CONTRACT_PATH = Path(__file__).resolve().parent / "jobs.json"


@cache
def contract() -> dict[str, Any]:
    return json.loads(CONTRACT_PATH.read_text())


@cache
def _registry() -> Registry:
    return Registry().with_resource(CONTRACT_URI, Resource(contents=contract(), specification=DRAFT4))


def _operation(path: str, method: str) -> tuple[str, dict[str, Any]] | None:
    for template, item in contract()["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            # /jobs/search also matches /jobs/{jobId}; the literal template wins.
            if template.endswith("{jobId}") and path.endswith("/jobs/search") and method.lower() == "post":
                continue
            return template, item[method.lower()]
    return None


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = contract()
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _schema_pointer(template: str, method: str, status: str, operation: dict[str, Any]) -> str | None:
    response = operation["responses"].get(status)
    if response is None:
        return None
    if "$ref" in response:
        base = response["$ref"].lstrip("#")
    else:
        escaped = template.replace("~", "~0").replace("/", "~1")
        base = f"/paths/{escaped}/{method.lower()}/responses/{status}"
    if "content" not in _resolve(response):
        return ""
    return f"{base}/content/application~1json/schema"


def validate_response(path: str, method: str, status: int, body: Any) -> None:
    """Raise AssertionError unless `body` is what the contract allows for this operation and status.

    A status the operation does not declare must be an error in one of the published error shapes.
    """
    found = _operation(path, method)
    if found is None:
        return
    template, operation = found
    pointer = _schema_pointer(template, method, str(status), operation)
    if pointer is None:
        assert status >= 400, f"{method} {template} answered {status}, which the contract does not declare"
        name = "ErrorMessageFault" if status == 401 else "ErrorMessage"
        pointer = f"/components/schemas/{name}"
    if pointer == "":
        assert body in (None, b"", ""), f"{method} {template} {status} must have no body"
        return
    validator = Draft4Validator({"$ref": f"{CONTRACT_URI}#{pointer}"}, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method} {path} {status} breaks the contract: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )

"""Validation of responses against the published Job operations (`shared/api/jobs.openapi.json`, kept beside
the repository by the team, not in it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

CONTRACT_URI = "urn:contract:jobs"
RELATIVE = Path("shared") / "api" / "jobs.openapi.json"
REPO = Path(__file__).resolve().parent.parent


def _candidates() -> list[Path]:
    """Where the published contract may be: JOBS_CONTRACT; beside this checkout, as the team lays its folders
    out; or beside the repository this one was cloned from (CI runs on a fresh clone made elsewhere)."""
    if os.environ.get("JOBS_CONTRACT"):
        return [Path(os.environ["JOBS_CONTRACT"])]
    places = [REPO.parent / RELATIVE]
    origin = _origin_path()
    if origin is not None:
        places.append(origin.parent / RELATIVE)
    return places


def _origin_path() -> Path | None:
    try:
        url = subprocess.run(
            ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return None
    url = url.removeprefix("file://")
    return Path(url).resolve() if url.startswith("/") else None


def contract_path() -> Path:
    places = _candidates()
    for path in places:
        if path.exists():
            return path
    tried = ", ".join(str(path) for path in places)
    raise RuntimeError(f"The published contract is not at {tried}; set JOBS_CONTRACT to the path of jobs.openapi.json.")


@cache
def contract() -> dict[str, Any]:
    return json.loads(contract_path().read_text())


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

"""The project's own OpenAPI document (`/api/schema`) against the published Job operations, as the repository
holds them (`tests/contract/jobs.json`, the same file every Job response in the suite is validated against).

For each published path and method, ours must have the same path template and operationId, every published
parameter (same `in`, `required` and schema type), every published response status with a structurally equal
schema (all `$ref`s resolved, descriptive keys dropped), the same request body schema and the same effective
security requirement. Extra operations, parameters and wording of our own are allowed.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.contract import CONTRACT_PATH, CONTRACT_PATHS, contract

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Keys that describe rather than constrain; inside `properties` the keys are field names and are all kept.
DESCRIPTIVE_KEYS = frozenset({"description", "summary", "title", "example", "examples", "externalDocs"})
# Schema keywords whose value is a set: order does not matter.
UNORDERED_KEYS = frozenset({"required", "enum"})
# Keywords whose value maps arbitrary names (not keywords) to schemas.
NAME_MAPS = frozenset({"properties", "patternProperties", "definitions"})


# --- helpers -------------------------------------------------------------------------------------------------


def resolve(document: dict[str, Any], node: Any) -> Any:
    """Follow `$ref`s (local JSON pointers) at the top of `node` until there is none left."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are expected, got {ref}"
        assert ref not in seen, f"circular reference {ref}"
        seen.add(ref)
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def normalize(document: dict[str, Any], node: Any, _stack: tuple[str, ...] = ()) -> Any:
    """`node` with every `$ref` resolved recursively and descriptive keys dropped, for a structural comparison."""
    if isinstance(node, list):
        return [normalize(document, item, _stack) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in _stack:  # a recursive schema: compare the reference itself, not an infinite expansion
            return {"$recursive": ref.rsplit("/", 1)[-1]}
        return normalize(document, resolve(document, node), (*_stack, ref))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DESCRIPTIVE_KEYS:
            continue
        if key in NAME_MAPS and isinstance(value, dict):
            out[key] = {name: normalize(document, sub, _stack) for name, sub in value.items()}
        elif key in UNORDERED_KEYS and isinstance(value, list):
            out[key] = sorted(value, key=lambda item: json.dumps(item, sort_keys=True))
        else:
            out[key] = normalize(document, value, _stack)
    return out


def _parameters(document: dict[str, Any], path_item: dict[str, Any], operation: dict[str, Any]) -> dict:
    """Effective parameters of an operation by (name, in): the operation's override the path item's."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        parameter = resolve(document, raw)
        merged[(parameter["name"], parameter["in"])] = parameter
    return merged


def _security(document: dict[str, Any], operation: dict[str, Any]) -> list[tuple[tuple[str, tuple[str, ...]], ...]]:
    requirements = operation.get("security", document.get("security", []))
    return sorted(
        {tuple(sorted((name, tuple(sorted(scopes))) for name, scopes in req.items())) for req in requirements}
    )


def _content_schemas(document: dict[str, Any], holder: Any) -> dict[str, Any]:
    holder = resolve(document, holder) or {}
    return {media: normalize(document, body.get("schema", {})) for media, body in (holder.get("content") or {}).items()}


def contract_differences(published: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """Everything the published Job operations declare that `ours` lacks or declares differently."""
    problems: list[str] = []
    for template, published_item in published["paths"].items():
        our_item = ours.get("paths", {}).get(template)
        if our_item is None:
            problems.append(f"path {template} is missing (ours: {sorted(ours.get('paths', {}))})")
            continue
        for method in HTTP_METHODS:
            if method not in published_item:
                continue
            label = f"{method.upper()} {template}"
            theirs_op, our_op = published_item[method], our_item.get(method)
            if our_op is None:
                problems.append(f"{label}: operation is missing")
                continue
            if our_op.get("operationId") != theirs_op.get("operationId"):
                problems.append(
                    f"{label}: operationId {our_op.get('operationId')!r} != {theirs_op.get('operationId')!r}"
                )

            our_params = _parameters(ours, our_item, our_op)
            for key, parameter in _parameters(published, published_item, theirs_op).items():
                mine = our_params.get(key)
                if mine is None:
                    problems.append(f"{label}: parameter {key[1]} {key[0]!r} is missing")
                    continue
                if bool(mine.get("required", False)) != bool(parameter.get("required", False)):
                    problems.append(f"{label}: parameter {key[0]!r} required differs")
                ours_type = resolve(ours, mine.get("schema", {})).get("type")
                their_type = resolve(published, parameter.get("schema", {})).get("type")
                if ours_type != their_type:
                    problems.append(f"{label}: parameter {key[0]!r} type {ours_type!r} != {their_type!r}")

            our_responses = our_op.get("responses", {})
            for status, response in theirs_op.get("responses", {}).items():
                if status not in our_responses:
                    problems.append(f"{label}: response {status} is not declared")
                    continue
                expected = _content_schemas(published, response)
                actual = _content_schemas(ours, our_responses[status])
                if expected != actual:
                    problems.append(
                        f"{label}: response {status} schema differs:\n  ours:      {json.dumps(actual, sort_keys=True)}"
                        f"\n  published: {json.dumps(expected, sort_keys=True)}"
                    )

            if "requestBody" in theirs_op:
                expected = _content_schemas(published, theirs_op["requestBody"])
                actual = _content_schemas(ours, our_op.get("requestBody", {}))
                if expected != actual:
                    problems.append(f"{label}: request body differs: ours {actual}, published {expected}")

            if _security(ours, our_op) != _security(published, theirs_op):
                problems.append(
                    f"{label}: security {_security(ours, our_op)} != published {_security(published, theirs_op)}"
                )
    return problems


# --- fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def document(django_db_blocker: Any) -> dict[str, Any]:
    """Our generated document, as served (JSON) to a client without any token."""
    with django_db_blocker.unblock():
        response = Client().get("/api/schema?format=json")
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


# --- the document against the contract ----------------------------------------------------------------------


def test_document_matches_the_published_job_operations(document: dict[str, Any]) -> None:
    problems = contract_differences(contract(), document)
    assert not problems, "\n".join(problems)


def test_document_matches_the_published_chat_log_and_commerce_event_operations(document: dict[str, Any]) -> None:
    problems = contract_differences(contract("agentic"), document)
    assert not problems, "\n".join(problems)


def test_the_chat_operations_take_either_execution_scope_as_alternatives(document: dict[str, Any]) -> None:
    for path in ("/ai-service/{tenant}/agentic/chat", "/ai-service/{tenant}/agentic/chat-async"):
        assert sorted(document["paths"][path]["post"]["security"], key=str) == [
            {"OAuth2": ["ai.agentexecution_manage"]},
            {"OAuth2": ["ai.agentexecution_manage_own"]},
        ]


def test_the_published_operations_are_read_from_the_repository_itself() -> None:
    # A clone from a code host has nothing beside it: the suite must find the contract inside its own tree.
    repository = Path(__file__).resolve().parent.parent
    assert CONTRACT_PATH.is_relative_to(repository / "tests")
    assert all(path.is_relative_to(repository / "tests") for path in CONTRACT_PATHS.values())
    assert sorted(contract()["paths"]) == [
        "/ai-service/{tenant}/jobs",
        "/ai-service/{tenant}/jobs/search",
        "/ai-service/{tenant}/jobs/{jobId}",
    ]


@pytest.mark.parametrize(
    ("template", "method"),
    [(t, m) for t, item in contract()["paths"].items() for m in HTTP_METHODS if m in item],
    ids=lambda value: str(value),
)
def test_each_published_operation_is_ours_verbatim(document: dict[str, Any], template: str, method: str) -> None:
    assert template in document["paths"], f"{template} not in {sorted(document['paths'])}"
    ours = document["paths"][template][method]
    assert ours["operationId"] == contract()["paths"][template][method]["operationId"]
    # Every status the contract declares is declared, with the same JSON body or none.
    for status, response in contract()["paths"][template][method]["responses"].items():
        assert status in ours["responses"]
        assert set(_content_schemas(document, ours["responses"][status])) == set(_content_schemas(contract(), response))


def test_document_is_openapi_3(document: dict[str, Any]) -> None:
    assert str(document["openapi"]).startswith("3.")
    assert document["info"]["title"] and document["info"]["version"]
    assert "OAuth2" in document["components"]["securitySchemes"]
    # Every reference in the document points at something that exists.
    refs: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)
    assert refs
    for ref in refs:
        resolve(document, {"$ref": ref})
    # Path templates and path parameters agree, and operationIds are unique.
    ids = [op["operationId"] for item in document["paths"].values() for m, op in item.items() if m in HTTP_METHODS]
    assert len(ids) == len(set(ids))
    for template, item in document["paths"].items():
        for method, operation in item.items():
            names = {name for (name, where) in _parameters(document, item, operation) if where == "path"}
            assert names == set(re.findall(r"\{([^}]+)\}", template)), (method, template)


def test_only_the_public_api_is_described(document: dict[str, Any]) -> None:
    assert document["paths"]
    assert all(path.startswith("/ai-service/") for path in document["paths"])


# --- the comparison helper can fail -------------------------------------------------------------------------


def _set(doc: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node: Any = doc
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value


def _delete(doc: dict[str, Any], keys: tuple[str, ...]) -> None:
    node: Any = doc
    for key in keys[:-1]:
        node = node[key]
    del node[keys[-1]]


LIST, DETAIL, SEARCH = (
    "/ai-service/{tenant}/jobs",
    "/ai-service/{tenant}/jobs/{jobId}",
    "/ai-service/{tenant}/jobs/search",
)

MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    # A type change deep inside a referenced component (Job -> metadata -> MetadataResponse -> MetadataRequest).
    "nested component type": (
        lambda d: _set(d, ("components", "schemas", "MetadataRequest", "properties", "version", "type"), "string"),
        "response 200 schema differs",
    ),
    "enum value": (
        lambda d: _set(d, ("components", "schemas", "JobStatus", "enum"), ["in_progress", "success", "failed"]),
        "response 200 schema differs",
    ),
    "dropped property": (
        lambda d: _delete(d, ("components", "schemas", "Job", "properties", "sessionId")),
        "response 200 schema differs",
    ),
    # `summary` is descriptive on operations but a field name inside ImportResult.properties.
    "property named like a descriptive key": (
        lambda d: _delete(d, ("components", "schemas", "ImportResult", "properties", "summary")),
        "response 200 schema differs",
    ),
    "error shape": (
        lambda d: _set(d, ("components", "schemas", "ErrorMessageFault", "properties", "fault", "type"), "string"),
        "response 401 schema differs",
    ),
    "renamed path": (
        lambda d: d["paths"].__setitem__("/ai-service/{tenant}/jobs/{job_id}", d["paths"].pop(DETAIL)),
        f"path {DETAIL} is missing",
    ),
    "operationId": (
        lambda d: _set(d, ("paths", LIST, "get", "operationId"), "listJobs"),
        "operationId 'listJobs'",
    ),
    "parameter location": (
        lambda d: [
            p.__setitem__("in", "query")
            for p in d["paths"][SEARCH]["post"]["parameters"]
            if p["name"] == "X-Total-Count"
        ],
        "parameter header 'X-Total-Count' is missing",
    ),
    "parameter type": (
        lambda d: [
            p["schema"].__setitem__("type", "integer")
            for p in d["paths"][SEARCH]["post"]["parameters"]
            if p["name"] == "pageSize"
        ],
        "parameter 'pageSize' type 'integer'",
    ),
    "parameter required": (
        lambda d: [
            p.__setitem__("required", True) for p in d["paths"][DETAIL]["get"]["parameters"] if p["name"] == "fields"
        ],
        "parameter 'fields' required differs",
    ),
    "missing status": (
        lambda d: _delete(d, ("paths", DETAIL, "delete", "responses", "404")),
        "response 404 is not declared",
    ),
    "body on 204": (
        lambda d: _set(
            d,
            ("paths", DETAIL, "delete", "responses", "204", "content"),
            {"application/json": {"schema": {"type": "object"}}},
        ),
        "response 204 schema differs",
    ),
    "request body": (
        lambda d: _set(d, ("components", "schemas", "QParamSearchBody", "properties", "q", "type"), "array"),
        "request body differs",
    ),
    "security": (
        lambda d: _set(d, ("paths", DETAIL, "delete", "security"), [{"OAuth2": ["ai.agent_read"]}]),
        "security",
    ),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_an_altered_document_is_detected(document: dict[str, Any], name: str) -> None:
    mutate, expected = MUTATIONS[name]
    altered = copy.deepcopy(document)
    mutate(altered)
    problems = contract_differences(contract(), altered)
    assert problems, f"altering {name} went unnoticed"
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c["components"]["schemas"]["Job"]["properties"].update(priority={"type": "integer"}), "200"),
        (lambda c: c["paths"][DETAIL]["delete"]["responses"].update({"409": {"description": "x"}}), "409"),
        (lambda c: c["paths"][LIST].update(post={"operationId": "POST-ai-jobs", "responses": {}}), "POST"),
    ],
    ids=["job field", "status", "operation"],
)
def test_the_repositorys_contract_and_the_document_must_change_together(
    document: dict[str, Any], change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    # What the repository says was published, and the app does not (yet) declare, is a difference too.
    published = copy.deepcopy(contract())
    change(published)
    problems = contract_differences(published, document)
    assert problems and any(expected in problem for problem in problems), problems


def test_descriptive_keys_are_ignored(document: dict[str, Any]) -> None:
    reworded = copy.deepcopy(document)
    for schema in reworded["components"]["schemas"].values():
        schema["description"] = "reworded"
        schema["title"] = "Reworded"
        schema["example"] = {"any": "thing"}
    for item in reworded["paths"].values():
        for operation in item.values():
            operation["summary"] = "reworded"
            for response in operation["responses"].values():
                response["description"] = "reworded"
    assert contract_differences(contract(), reworded) == []


def test_normalizer_resolves_references_and_keeps_field_names() -> None:
    doc = {
        "components": {
            "schemas": {
                "A": {
                    "type": "object",
                    "description": "x",
                    "properties": {"summary": {"$ref": "#/components/schemas/B"}},
                },
                "B": {"type": "string", "title": "B", "enum": ["b", "a"]},
                "Node": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}}},
            }
        }
    }
    assert normalize(doc, {"$ref": "#/components/schemas/A"}) == {
        "type": "object",
        "properties": {"summary": {"type": "string", "enum": ["a", "b"]}},
    }
    assert normalize(doc, {"$ref": "#/components/schemas/Node"}) == {
        "type": "object",
        "properties": {"next": {"$recursive": "Node"}},
    }


# --- serving the document -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_schema_is_served_without_a_token_as_yaml_and_json() -> None:
    client = Client()
    yaml_response = client.get("/api/schema")
    assert yaml_response.status_code == 200
    assert yaml_response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml_response.content.startswith(b"openapi: 3.")
    assert b"operationId: GET-ai-list-jobs" in yaml_response.content
    json_response = client.get("/api/schema?format=json")
    assert json_response.status_code == 200
    assert "json" in json_response["Content-Type"]
    assert json.loads(json_response.content)["paths"]


@pytest.mark.django_db
def test_docs_page_is_html() -> None:
    response = Client().get("/api/docs")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "<html" in body.lower()
    # Swagger UI's start-up script is a file of its own (no inline code under the Content-Security-Policy): it
    # names the schema.
    assert '<script src="/api/docs?script="></script>' in body
    assert "/api/schema" in Client().get("/api/docs?script=").content.decode()

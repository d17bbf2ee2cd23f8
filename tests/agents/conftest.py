"""Shared helpers for the agents, tools, MCP servers and tokens API tests.

The clients here also check every response of an agentic operation against our own OpenAPI document (the Job
contract does not cover these paths), so the document cannot drift from what the API does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

import pytest
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from apps.agents.api.serializers import validate_upsert
from apps.agents.models import RESOURCE_MODELS, Kind, Reference
from apps.agents.representation import AnyResource
from apps.agents.seeding import rag_tool_body as rag_tool_body  # the app's own, for the tests here
from apps.agents.services import resource_upsert
from apps.tenants.models import Tenant
from tests.conftest import MANAGE, READ, ApiClientForTests

# A secret distinctive enough to search raw response bytes and database text for.
SECRET = "sk-live-Zq8V3mXk2L9pT4wR7nB1-do-not-leak"
SEGMENTS = {Kind.AGENT: "agents", Kind.TOOL: "tools", Kind.MCP_SERVER: "mcp-servers", Kind.TOKEN: "tokens"}
INVALID = {"fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}}


def url(kind: Kind, public_id: str | None = None, tenant: str = "acme", **query: str) -> str:
    path = f"/ai-service/{tenant}/agentic/{SEGMENTS[kind]}"
    if public_id is not None:
        path += f"/{public_id}"
    if query:
        path += "?" + urlencode(query)
    return path


# --- payloads ------------------------------------------------------------------------------------------------------


def token_body(name: str = "OpenAI key", value: str | None = SECRET) -> dict[str, Any]:
    return {"name": name, **({"value": value} if value is not None else {})}


def slack_tool_body(name: str = "Slack") -> dict[str, Any]:
    return {"name": name, "type": "slack", "config": {"teamId": "T0445953", "allowedOperations": ["sendMessage"]}}


def custom_mcp_body(token_id: str | None = None, name: str = "Orders MCP") -> dict[str, Any]:
    config: dict[str, Any] = {"url": "http://mcp:7900/mcp"}
    if token_id is not None:
        config |= {"authorizationHeaderName": "Authorization", "authorizationHeaderToken": {"id": token_id}}
    return {"name": name, "type": "custom", "enabled": True, "transport": "streamable_http", "config": config}


def dynamic_mcp_body(name: str = "Functions MCP") -> dict[str, Any]:
    return {
        "name": name,
        "type": "dynamic",
        "tools": [
            {
                "name": "get-order",
                "prompt": "Use it when the customer asks about an order.",
                "enabled": True,
                "config": {
                    "inputSchema": '{"type":"object","properties":{"orderId":{"type":"string"}}}',
                    "invocation": {"functionId": "fn-get-order", "method": "GET", "argsLocation": "query"},
                },
            }
        ],
    }


def agent_body(
    token_id: str,
    *,
    name: str = "Support",
    tools: tuple[str, ...] = (),
    servers: tuple[str, ...] = (),
    collaborators: tuple[str, ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": {"en": name, "de": f"{name} (de)"},
        "description": {"en": f"The {name} agent."},
        "type": "support",
        "enabled": True,
        "userPrompt": "Help the customer with orders.",
        "triggers": [{"type": "endpoint"}],
        "llmConfig": {"provider": "openai", "model": "gpt-4.1-mini", "temperature": 0.2, "token": {"id": token_id}},
        "mcpServers": [
            {"type": "predefined", "domain": "order", "tools": ["get-order"]},
            *({"type": "custom", "mcpServer": {"id": server}} for server in servers),
        ],
        "nativeTools": [{"id": tool} for tool in tools],
        "agentCollaborations": [{"agentId": agent, "description": "Hand refunds over."} for agent in collaborators],
        **extra,
    }


# --- setting up through the services (fast), asserting through the API ---------------------------------------------


def create(tenant: Tenant, kind: Kind, public_id: str, body: dict[str, Any]) -> AnyResource:
    upsert = validate_upsert(kind, body)
    resource_upsert(tenant=tenant, kind=kind, public_id=public_id, upsert=upsert)
    return stored(tenant, kind, public_id)


def stored(tenant: Tenant, kind: Kind, public_id: str) -> AnyResource:
    return RESOURCE_MODELS[kind].objects.get(tenant=tenant, public_id=public_id)


def exists(tenant: Tenant | str, kind: Kind, public_id: str) -> bool:
    name = tenant if isinstance(tenant, str) else tenant.name
    return RESOURCE_MODELS[kind].objects.filter(tenant__name=name, public_id=public_id).exists()


def references(tenant: Tenant) -> set[tuple[str, str, str, str]]:
    return set(
        Reference.objects.filter(tenant=tenant).values_list("source_kind", "source_id", "target_kind", "target_id")
    )


@dataclass
class Catalogue:
    """One of each kind in a tenant, the agent using all the others: token t1, tool tool1, MCP server mcp1,
    a helper agent helper and the agent a1 that collaborates with it."""

    tenant: Tenant

    def __post_init__(self) -> None:
        create(self.tenant, Kind.TOKEN, "t1", token_body())
        create(self.tenant, Kind.TOOL, "tool1", rag_tool_body("t1"))
        create(self.tenant, Kind.MCP_SERVER, "mcp1", custom_mcp_body("t1"))
        create(self.tenant, Kind.AGENT, "helper", agent_body("t1", name="Refunds"))
        create(
            self.tenant,
            Kind.AGENT,
            "a1",
            agent_body("t1", tools=("tool1",), servers=("mcp1",), collaborators=("helper",)),
        )


@pytest.fixture
def catalogue(tenant: Tenant) -> Catalogue:
    return Catalogue(tenant)


# What the catalogue's agent a1 uses, as `Reference` rows.
EVERYTHING_A1_USES = {
    ("agent", "a1", "token", "t1"),
    ("agent", "a1", "tool", "tool1"),
    ("agent", "a1", "mcp_server", "mcp1"),
    ("agent", "a1", "agent", "helper"),
}


def assert_untouched(tenant: Tenant) -> None:
    """The catalogue's agent a1 is as it was created."""
    agent = stored(tenant, Kind.AGENT, "a1")
    assert (agent.name, agent.version) == ("Support", 1)


# --- checking responses against our own OpenAPI document --------------------------------------------------------------


@cache
def document() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))
    return schema


@cache
def _registry() -> Registry:
    return Registry().with_resource("urn:ours", Resource(contents=document(), specification=DRAFT4))


def _operation(path: str, method: str) -> tuple[str, dict[str, Any]] | None:
    for template, item in document()["paths"].items():
        if "/agentic/" not in template or method.lower() not in item:
            continue
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            # The literal `search` path wins over `{id}` for POST, the only method it documents.
            if template.endswith("Id}") and path.endswith("/search") and method.lower() == "post":
                continue
            return template, item[method.lower()]
    return None


def assert_documented(path: str, method: str, status: int, body: Any) -> None:
    """The response is one our document declares for this operation (or an error in a documented shape)."""
    found = _operation(path, method)
    if found is None:
        return
    template, operation = found
    response = operation["responses"].get(str(status))
    if response is None:
        assert status >= 400, f"{method} {template} answered {status}, which our document does not declare"
        pointer = "/components/schemas/" + ("ErrorMessageFault" if status == 401 else "ErrorMessage")
    elif "content" not in response:
        assert body is None, f"{method} {template} {status} must have no body"
        return
    else:
        escaped = template.replace("~", "~0").replace("/", "~1")
        pointer = f"/paths/{escaped}/{method.lower()}/responses/{status}/content/application~1json/schema"
    validator = Draft4Validator({"$ref": f"urn:ours#{pointer}"}, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method} {path} {status} is not what our document says: " + "; ".join(
        f"{list(e.path)}: {e.message[:300]}" for e in errors[:5]
    )


class DocumentedClient(ApiClientForTests):
    def generic(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        response = super().generic(method, path, *args, **kwargs)
        assert_documented(path.split("?")[0], method, response.status_code, response.body)
        return response


def client_with(token: str | None) -> DocumentedClient:
    client = DocumentedClient()
    if token is not None:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def api() -> DocumentedClient:
    return DocumentedClient()


@pytest.fixture
def reader(tenant: Tenant, make_token: Callable[..., str]) -> DocumentedClient:
    return client_with(make_token(tenant, READ))


@pytest.fixture
def outsider(other_tenant: Tenant, make_token: Callable[..., str]) -> DocumentedClient:
    return client_with(make_token(other_tenant, READ, MANAGE))


def put(client: ApiClientForTests, kind: Kind, public_id: str, body: Any, tenant: str = "acme", **query: str) -> Any:
    return client.put(url(kind, public_id, tenant, **query), body, content_type="application/json")


def search(client: ApiClientForTests, kind: Kind, q: str | None, tenant: str = "acme", **headers: str) -> Any:
    body = {"q": q} if q is not None else {}
    return client.post(url(kind, "search", tenant), body, content_type="application/json", **headers)


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.body
    return [item["id"] for item in response.body]


def assert_bad_request(response: Any, field: str, fragment: str = "") -> None:
    """A 400 ErrorMessage whose details name `field` (a dot path)."""
    assert response.status_code == 400, response.body
    assert response.body["code"] == 400
    assert response.body["status"] == "Bad Request"
    fields = [detail["field"] for detail in response.body.get("details", [])]
    assert field in fields, fields
    assert fragment.lower() in json.dumps(response.body).lower(), response.body


# --- the access checklist, shared by the four kinds ----------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    public_id: str | None  # None: the list path; "search": the search path
    body: Any
    success: int
    scope: str

    def call(self, client: ApiClientForTests, kind: Kind, tenant: str = "acme") -> Any:
        path = url(kind, self.public_id, tenant)
        if self.body is None:
            return getattr(client, self.method)(path)
        return getattr(client, self.method)(path, self.body, content_type="application/json")


def access_operations(existing_id: str, body: dict[str, Any]) -> dict[str, Operation]:
    """The five operations of a kind, aimed at the resource `existing_id`; `body` replaces it."""
    return {
        "GET list": Operation("get", None, None, 200, READ),
        "POST search": Operation("post", "search", {"q": f"id:{existing_id}"}, 200, READ),
        "GET one": Operation("get", existing_id, None, 200, READ),
        "PUT one": Operation("put", existing_id, body, 204, MANAGE),
        "DELETE one": Operation("delete", existing_id, None, 204, MANAGE),
    }


def assert_forbidden(response: Any) -> None:
    assert response.status_code == 403, response.body
    assert response.body["code"] == 403
    assert response.body["status"] == "Forbidden"
    assert response.body["message"]


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401, response.body
    assert response.body == INVALID
    assert response["WWW-Authenticate"].startswith("Bearer")

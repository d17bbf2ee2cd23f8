"""OpenAPI components of the commerce events inbox (our own operation: upstream publishes none for receiving
events), registered from AgenticConfig.ready()."""

from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


ERROR = _ref("ErrorMessage")
EVENT = _ref("CommerceEventDelivery")
RECEIVED = _ref("CommerceEventReceived")

ID = "The delivery's unique id: the same id sent again is answered with the same jobs and starts nothing."
TIMESTAMP = "When the delivery was signed, in whole seconds since 1970 (UTC); at most 5 minutes off either way."
SIGNATURE = (
    '`v1,` then the base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}" under the key of the '
    "tenant's `whsec_` secret; several space-separated signatures are allowed."
)

COMPONENTS: dict[str, dict[str, Any]] = {
    "CommerceEventDelivery": {
        "type": "object",
        "description": "A commerce event. Trigger filters resolve their paths against this whole object.",
        "properties": {
            "id": {"type": "string", "description": "The event's id in the commerce system."},
            "event": {"type": "string", "description": "The event's name, e.g. order.order-created."},
            "payload": {"type": "object", "description": 'What the event is about, e.g. {"order": {...}}.'},
        },
        "required": ["id", "event", "payload"],
    },
    "CommerceEventReceived": {
        "type": "object",
        "description": "The AGENT_CHAT jobs the event started, one per agent it triggers.",
        "properties": {"jobIds": {"type": "array", "items": {"type": "string"}}},
        "required": ["jobIds"],
    },
}

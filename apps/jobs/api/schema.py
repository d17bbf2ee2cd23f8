"""OpenAPI components of the Job operations, in the published structure (the contract), our own wording."""

from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _str(description: str) -> dict[str, str]:
    return {"type": "string", "description": description}


_IMPORTED_ENTITY = {
    "type": "object",
    "properties": {
        "id": _str("Id of the entity in the tenant it was imported into."),
        "name": _str("Name of the entity."),
        "state": {
            "type": "string",
            "description": "What the import did with the entity.",
            "enum": ["TO_CREATE", "ENABLED", "DISABLED", "EXISTS"],
        },
    },
}

COMPONENTS: dict[str, dict[str, Any]] = {
    "Job": {
        "type": "object",
        "description": "A piece of background work and its outcome.",
        "properties": {
            "id": _str("The job's id."),
            "agentType": _ref("AgentType"),
            "status": _ref("JobStatus"),
            "type": _ref("JobType"),
            "exportResult": _ref("ExportResult"),
            "importResult": _ref("ImportResult"),
            "sessionId": _str("The chat session the job belongs to."),
            "agentId": _str("The agent that ran the job."),
            "message": _str("What the agent or the job said."),
            "commerceEvent": _str("The commerce event that started the job."),
            "requestId": _str("An agent run's request: its log is at /agentic/logs/requests/{requestId}."),
            "metadata": _ref("MetadataResponse"),
        },
    },
    "AgentType": {
        "type": "string",
        "description": "Kind of agent.",
        "enum": ["support", "generic", "complaint", "anti_fraud"],
    },
    "JobStatus": {
        "type": "string",
        "enum": ["in_progress", "success", "failure", "skipped"],
        "description": "Where the job stands; skipped: an agent run its trigger's filter did not start.",
    },
    "JobType": {"type": "string", "enum": ["IMPORT", "EXPORT", "AGENT_CHAT"], "description": "Kind of job."},
    "ExportResult": {
        "type": "object",
        "properties": {
            "data": _str("Base64 of the JSON bundle: agents, their tools and MCP servers."),
            "checksum": _str("Keyed checksum of the bundle; an import checks it."),
        },
    },
    "ImportResult": {
        "type": "object",
        "properties": {
            "message": _str("One-line outcome of the import."),
            "summary": {
                "type": "object",
                "description": "What happened to each imported entity.",
                "properties": {
                    "agents": {"type": "array", "items": _ref("ImportedEntity")},
                    "tools": {"type": "array", "items": _ref("ImportedEntity")},
                    "mcpServers": {"type": "array", "items": _ref("ImportedEntity")},
                },
            },
        },
    },
    "ImportedEntity": _IMPORTED_ENTITY,
    "MetadataResponse": {
        "allOf": [
            _ref("MetadataRequest"),
            {
                "type": "object",
                "properties": {
                    "createdAt": _str("Creation instant, ISO-8601 UTC with milliseconds."),
                    "modifiedAt": _str("Last change instant, ISO-8601 UTC with milliseconds."),
                },
                "required": ["version", "createdAt", "modifiedAt"],
            },
        ]
    },
    "MetadataRequest": {
        "type": "object",
        "properties": {
            "version": {"minimum": 1, "type": "integer", "description": "Counts the changes to the object."}
        },
        "required": ["version"],
    },
    "ErrorMessage": {
        "type": "object",
        "description": "An error.",
        "properties": {
            "code": {"type": "integer"},
            "type": {"type": "string"},
            "message": {"type": "string"},
            "moreInfo": {"type": "string"},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "type": {"type": "string"},
                        "message": {"type": "string"},
                        "moreInfo": {"type": "string"},
                    },
                },
            },
        },
    },
    "ErrorMessageFault": {
        "type": "object",
        "properties": {
            "fault": {
                "type": "object",
                "properties": {
                    "faultstring": {"type": "string"},
                    "detail": {"type": "object", "properties": {"errorcode": {"type": "string"}}},
                },
            }
        },
    },
    "QParamSearchBody": {
        "type": "object",
        "properties": {"q": _str("The query, in the q grammar: `status:failure type:(IMPORT,EXPORT)`.")},
    },
}

JOB_LIST = {"type": "array", "items": _ref("Job")}
JOB = _ref("Job")
ERROR = _ref("ErrorMessage")
FAULT = _ref("ErrorMessageFault")

# Export and import (the newer upstream operations): the import answer reports FAILED entities and details.
TRANSFER_COMPONENTS: dict[str, dict[str, Any]] = {
    "ExportRequest": {
        "type": "object",
        "required": ["agentIds"],
        "properties": {
            "agentIds": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string"}},
        },
    },
    "ExportResponse": {
        "type": "object",
        "properties": {
            "data": _str("Base64 of the JSON bundle."),
            "checksum": _str("Keyed checksum (HMAC-SHA256, hex) of the decoded bundle."),
            "exportedAt": {"type": "string", "format": "date-time", "description": "When the export finished."},
            "jobId": _str("The EXPORT job."),
        },
    },
    "ImportRequest": {
        "type": "object",
        "required": ["data", "checksum"],
        "properties": {
            "data": _str("The `data` of an export."),
            "checksum": _str("The `checksum` of the same export."),
        },
    },
    "ImportDetail": {
        "type": "object",
        "properties": {
            "code": {
                "type": "string",
                "enum": [
                    "MISSING_FUNCTION",
                    "MISSING_TOKEN",
                    "NOT_IMPORTABLE",
                    "ALREADY_EXISTS",
                    "AGENT_IMPORTED_DISABLED",
                    "IMPORT_FAILED",
                ],
            },
            "objectId": _str("The related object: the entity itself, a token, a tool."),
            "objectName": _str("Its name, when known."),
            "message": _str("What happened, in English."),
        },
    },
    "ImportOutcome": {
        "type": "object",
        "properties": {
            "id": _str("Id of the entity in this tenant."),
            "name": _str("Name of the entity."),
            "state": {"type": "string", "enum": ["TO_CREATE", "ENABLED", "DISABLED", "EXISTS", "FAILED"]},
            "details": {"type": "array", "items": _ref("ImportDetail")},
        },
    },
    "ImportResponse": {
        "type": "object",
        "properties": {
            "message": _str("One-line outcome of the import."),
            "summary": {
                "type": "object",
                "properties": {
                    section: {"type": "array", "items": _ref("ImportOutcome")}
                    for section in ("agents", "tools", "mcpServers")
                },
            },
            "importedAt": {"type": "string", "format": "date-time", "description": "When the import finished."},
            "jobId": _str("The IMPORT job."),
        },
    },
    "JobIdResponse": {
        "type": "object",
        "properties": {"jobId": _str("The job doing the work; watch it at the Location given.")},
    },
}

"""OpenAPI components of the chat, logs and commerce-events operations, in the published structure, our own wording.

`JobIdResponse`, `MetadataResponse`, `AgentType` and the error shapes are the jobs app's components (registered
by apps/jobs/apps.py); these only point at them."""

from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _str(description: str) -> dict[str, str]:
    return {"type": "string", "description": description}


def _ids(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description}


COMPONENTS: dict[str, dict[str, Any]] = {
    "AgenticRequest": {
        "type": "object",
        "required": ["agentId", "message"],
        "properties": {
            "agentId": _str("The agent to talk to: enabled, with an `endpoint` trigger."),
            "message": _str("What the user says to the agent."),
            "attachments": {
                "type": "array",
                "description": (
                    "Files uploaded earlier in the same session, in the hosted service. Checked and kept on the job as "
                    "sent; this installation has no attachment upload, so the agent is not given them."
                ),
                "items": {
                    "type": "object",
                    "required": ["attachmentId"],
                    "properties": {
                        "attachmentId": _str("The attachment's id."),
                        "caption": _str("A caption for it."),
                        "purpose": _str("What it is for."),
                    },
                },
            },
        },
    },
    "ChatResponse": {
        "type": "object",
        "properties": {
            "agentId": _str("The agent that answered."),
            "agentType": _ref("AgentType"),
            "sessionId": _str("The session: send it as the session-id header to go on with the conversation."),
            "message": _str("The agent's answer."),
        },
    },
    "LogSeverity": {
        "type": "string",
        "enum": ["INFO", "WARNING", "ERROR"],
        "description": "How serious a log line is; of a request or session, the worst of its lines.",
    },
    "AgentLogMessageResponse": {
        "type": "object",
        "properties": {
            "timestamp": {"type": "string", "format": "date-time", "description": "When the line was written."},
            "severity": _ref("LogSeverity"),
            "message": _str("The line, in the phrases the upstream dashboard reads (`Agent receive request: ...`)."),
            "agentId": _str("The agent the line is about."),
            "requestId": _str("The request (run) the line belongs to."),
            "isBusinessLog": {"type": "boolean", "description": "Whether the line is meant for business users."},
        },
    },
    "AgentRequestResponse": {
        "type": "object",
        "properties": {
            "id": _str("The request log's own id."),
            "sessionId": _str("The session the request was made in."),
            "requestId": _str("The request: the `requestId` of its AGENT_CHAT job."),
            "triggerAgentId": _str("The agent the request was sent to."),
            "collaborationAgents": _ids("Agents the conversation was handed on to."),
            "severity": _ref("LogSeverity"),
            "messages": {"type": "array", "items": _ref("AgentLogMessageResponse"), "description": "The transcript."},
            "duration": {"type": "integer", "format": "int64", "description": "Whole seconds the run took (so far)."},
            "metadata": _ref("MetadataResponse"),
        },
    },
    "AgentSessionResponse": {
        "type": "object",
        "properties": {
            "sessionId": _str("The session."),
            "triggerAgentId": _str("The agent its first request was sent to."),
            "severity": _ref("LogSeverity"),
            "agents": _ids("Every agent that took part."),
            "messages": {
                "type": "array",
                "items": _ref("AgentLogMessageResponse"),
                "description": "The transcript of all its requests.",
            },
            "duration": {
                "type": "integer",
                "format": "int64",
                "description": "Whole seconds from its first request to its last answer (so far).",
            },
            "metadata": _ref("MetadataResponse"),
        },
    },
    "CommerceEventsResponse": {
        "type": "object",
        "properties": {
            "events": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Events an agent's `commerce_events` trigger can name.",
            }
        },
    },
}

CHAT_ANSWER = {"type": "array", "items": _ref("ChatResponse")}
JOB_ID = _ref("JobIdResponse")
REQUEST = _ref("AgentRequestResponse")
REQUESTS = {"type": "array", "items": REQUEST}
SESSION = _ref("AgentSessionResponse")
SESSIONS = {"type": "array", "items": SESSION}
EVENTS = _ref("CommerceEventsResponse")
ERROR = _ref("ErrorMessage")

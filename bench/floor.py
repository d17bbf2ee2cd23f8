"""The floor: the Jobs API's get by id, list and search as a bare WSGI app, with no framework.

It does the database work the API does, and no more: the token by its SHA-256 joined to its client and the
client's tenant, then the job by tenant and id, or the page of the default sort (newest first), filtered for a
search of `field:value` terms on status and type. psycopg directly, one connection per thread kept open (as
CONN_MAX_AGE keeps ours), the same JSON shape encoded by orjson. bench/run.py serves it under the API's gunicorn
settings and reports the API's throughput as a ratio of this one's: what the framework and our code cost.

    .venv/bin/gunicorn bench.floor:app --bind 127.0.0.1:8124   # DATABASE_URL names the database to read
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

# The columns the API reads for a job (apps/jobs/fields.py COLUMNS, plus the export bundle's size and checksum).
_COLUMNS = (
    "j.job_id, j.agent_type, j.status, j.type, j.export_result, j.import_result, j.session_id, j.agent_id, "
    "j.message, j.commerce_event, j.request_id, j.version, j.created_at, j.modified_at, b.size, b.checksum"
)
# Constant SQL: only the values are parameters.
_JOBS = f"SELECT {_COLUMNS} FROM jobs_job j LEFT JOIN jobs_exportbundle b ON b.job_id = j.id WHERE j.tenant_id = %s"  # noqa: S608
CALLER_SQL = (
    "SELECT t.expires, t.scope, c.tenant_id, n.name FROM oauth2_provider_accesstoken t"
    " JOIN accounts_apiclient c ON c.id = t.application_id JOIN tenants_tenant n ON n.id = c.tenant_id"
    " WHERE t.token_checksum = %s AND c.revoked_at IS NULL"
)
GET_SQL = f"{_JOBS} AND j.job_id = %s"
PAGE = " ORDER BY j.created_at DESC, j.job_id DESC LIMIT 60"
_PLAIN = (
    (1, "agentType"),
    (2, "status"),
    (3, "type"),
    (4, "exportResult"),
    (5, "importResult"),
    (6, "sessionId"),
    (7, "agentId"),
    (8, "message"),
    (9, "commerceEvent"),
    (10, "requestId"),
)
_SEARCHABLE = {"status": "j.status", "type": "j.type"}
_local = threading.local()

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class Refused(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def _connection() -> psycopg.Connection[Any]:
    conn: psycopg.Connection[Any] | None = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        _local.conn = conn
    return conn


def _instant(value: datetime) -> str:
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _job(row: tuple[Any, ...]) -> dict[str, Any]:
    if row[14] is not None:
        raise Refused("501 Not Implemented", "the floor does not stream export bundles; the bench data has none")
    out: dict[str, Any] = {"id": row[0]}
    for index, name in _PLAIN:
        if row[index] is not None:
            out[name] = row[index]
    out["metadata"] = {"version": row[11], "createdAt": _instant(row[12]), "modifiedAt": _instant(row[13])}
    return out


def _tenant_id(environ: dict[str, Any], tenant: str) -> int:
    scheme, _, raw = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme.lower() != "bearer" or not raw:
        raise Refused("401 Unauthorized", "Invalid access token")
    checksum = hashlib.sha256(raw.strip().encode()).hexdigest()
    row = _connection().execute(CALLER_SQL, [checksum]).fetchone()
    if row is None:
        raise Refused("401 Unauthorized", "Invalid access token")
    expires, scope, tenant_id, name = row
    if expires <= datetime.now(UTC):
        raise Refused("401 Unauthorized", "Access Token expired")
    scopes = scope.split()
    if f"tenant={name}" not in scopes or name != tenant:
        raise Refused("403 Forbidden", "The access token does not belong to this tenant.")
    if "ai.agent_read" not in scopes:
        raise Refused("403 Forbidden", "The access token lacks the scope ai.agent_read needed for this operation.")
    return int(tenant_id)


def _search(environ: dict[str, Any]) -> tuple[str, list[str]]:
    size = int(environ.get("CONTENT_LENGTH") or 0)
    q = orjson.loads(environ["wsgi.input"].read(size) or b"{}").get("q") or ""
    where, values = "", []
    for term in q.split():
        field, _, value = term.partition(":")
        if field not in _SEARCHABLE:
            raise Refused("400 Bad Request", f"the floor searches {', '.join(_SEARCHABLE)} only")
        where += f" AND {_SEARCHABLE[field]} = %s"
        values.append(value)
    return where, values


def _answer(environ: dict[str, Any]) -> Any:
    parts = environ["PATH_INFO"].strip("/").split("/")
    if len(parts) < 3 or parts[0] != "ai-service" or parts[2] != "jobs":
        raise Refused("404 Not Found", "No such resource or operation.")
    tenant_id = _tenant_id(environ, parts[1])
    method = environ["REQUEST_METHOD"]
    conn = _connection()
    if len(parts) == 3 and method == "GET":
        return [_job(row) for row in conn.execute(_JOBS + PAGE, [tenant_id])]
    if len(parts) == 4 and parts[3] == "search" and method == "POST":
        where, values = _search(environ)
        return [_job(row) for row in conn.execute(_JOBS + where + PAGE, [tenant_id, *values])]
    if len(parts) == 4 and method == "GET":
        row = conn.execute(GET_SQL, [tenant_id, parts[3]]).fetchone()
        if row is None:
            raise Refused("404 Not Found", f"Job with id {parts[3]} not found.")
        return _job(row)
    raise Refused("405 Method Not Allowed", "Method not allowed.")


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    try:
        status, body = "200 OK", orjson.dumps(_answer(environ))
    except Refused as refused:
        status, body = refused.status, orjson.dumps({"code": int(refused.status[:3]), "message": str(refused)})
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]

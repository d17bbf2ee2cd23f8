"""The job page of an agent run: what was asked, the transcript of its request log with each line's severity, the
tools it called with their outputs, its usage, its request and session; and the live updates of the transcript
while it runs."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from apps.agentic.models import LogMessage
from apps.jobs.models import Job
from tests.console.agentic.conftest import ANSWER, ASKED, SESSION, TRANSCRIPT, write_lines
from tests.console.jobs.helpers import BASE, make


def page_text(response: Any) -> str:
    return html.unescape(response.content.decode())


def cells_of(markup: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td.*?</td>", markup, re.S)]


def transcript_rows(response: Any) -> list[list[str]]:
    """The transcript table's rows: [severity, agent, step, text] each."""
    body = response.content.decode()
    table = body[body.index('<table class="grid transcript">') :]
    table = table[: table.index("</table>")]
    return [cells_of(row)[1:] for row in re.findall(r"<tr data-line-id=.*?</tr>", table, re.DOTALL)]


def test_the_page_of_a_run_shows_its_transcript_in_order_with_each_lines_severity(manager_client, answered):
    response = manager_client.get(f"{BASE}/jobs/{answered.job_id}/")

    assert response.status_code == 200
    rows = transcript_rows(response)
    assert [row[2] for row in rows] == [
        "Asked",
        "Model called",
        "Tool called",
        "Tool returned",
        "Model answered",
        "Answered",
    ]
    assert rows[0] == ["INFO", "helper", "Asked", f"Agent receive request: {ASKED}"]
    assert rows[3][0] == "WARNING"
    assert rows[-1][3] == f"Agent final response: {ANSWER}"


def test_the_page_of_a_run_shows_what_was_asked_the_answer_the_request_and_the_session(manager_client, answered):
    text = page_text(manager_client.get(f"{BASE}/jobs/{answered.job_id}/"))

    assert f"ask the agent: {ASKED}" in re.sub(r"<[^>]+>\s*", "", text)
    assert f'data-cell="message" data-full>{ANSWER}</dd>' in text
    assert f"<dt>Request id</dt><dd><code>{answered.request_id}</code></dd>" in text
    # The session links to every run of the conversation.
    assert f'<a href="{BASE}/jobs/?session={SESSION}" title="Every run of this conversation"><code>{SESSION}' in text


def test_the_page_of_a_run_lists_the_tools_it_called_with_their_output(manager_client, answered):
    body = manager_client.get(f"{BASE}/jobs/{answered.job_id}/").content.decode()

    table = body[body.index('<table class="grid tool-calls">') : body.index('<table class="grid transcript">')]
    assert cells_of(table)[1:] == ["get-order", "helper", "{'status': 'shipped'}"]


def test_a_tool_still_running_shows_no_output_yet(manager_client, running):
    body = manager_client.get(f"{BASE}/jobs/{running.job_id}/").content.decode()

    assert "<code>get-order</code>" in body and "no output (yet)" in body


def test_the_page_of_a_run_shows_its_usage(manager_client, answered):
    body = manager_client.get(f"{BASE}/jobs/{answered.job_id}/").content.decode()

    for key, shown in [
        ("model", "gpt-4.1-mini"),
        ("inputTokens", "1,234"),
        ("outputTokens", "56"),
        ("requests", "2"),
        ("toolCalls", "1"),
    ]:
        assert f'<dd data-usage="{key}">{shown}</dd>' in body


def test_a_run_without_usage_yet_shows_dashes_for_the_live_updates_to_fill(manager_client, running):
    body = manager_client.get(f"{BASE}/jobs/{running.job_id}/").content.decode()

    assert '<dd data-usage="inputTokens">—</dd>' in body
    assert 'data-status="in_progress"' in body and "new lines appear as the run goes" in body


def test_another_tenants_lines_with_the_same_request_id_never_show(manager_client, answered, other_tenant):
    LogMessage.objects.create(
        tenant=other_tenant,
        session_id=SESSION,
        request_id=str(answered.request_id),
        agent_id="helper",
        message="Agent receive request: globex's secret question",
    )

    response = manager_client.get(f"{BASE}/jobs/{answered.job_id}/")
    live = manager_client.get(f"{BASE}/jobs/status.json", {"id": answered.job_id, "log": answered.job_id})

    assert "globex" not in response.content.decode()
    assert "globex" not in live.content.decode()
    assert len(transcript_rows(response)) == len(TRANSCRIPT) + 1


@pytest.mark.parametrize("persona", ["viewer", "platform_admin"])
def test_viewers_and_platform_admins_read_the_transcript_too(client_as, persona, answered):
    response = client_as(persona).get(f"{BASE}/jobs/{answered.job_id}/")

    assert response.status_code == 200
    assert len(transcript_rows(response)) == len(TRANSCRIPT) + 1


def test_an_outsider_finds_no_run(outsider_client, answered):
    assert outsider_client.get(f"{BASE}/jobs/{answered.job_id}/").status_code == 404


def test_an_export_has_no_transcript(manager_client, tenant):
    make(tenant, job_id="exp-1", type=Job.Type.EXPORT, status=Job.Status.FAILURE, payload={"agentIds": ["a"]})

    body = manager_client.get(f"{BASE}/jobs/exp-1/").content.decode()

    assert "Transcript" not in body and "data-transcript" not in body and "Usage" not in body


def test_a_loaded_run_without_request_log_shows_an_empty_transcript(manager_client, tenant):
    make(tenant, job_id="loaded-chat", status=Job.Status.SUCCESS, agent_id="a1", message="Done")

    body = manager_client.get(f"{BASE}/jobs/loaded-chat/").content.decode()

    assert "No line written yet." in body
    assert "<dt>Request id</dt><dd>—</dd>" in body


# --- live updates -------------------------------------------------------------------------------------------------


def live(client: Any, job: Job, after: int | str = 0) -> dict[str, Any]:
    response = client.get(f"{BASE}/jobs/status.json", {"id": job.job_id, "log": job.job_id, "after": after})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_the_live_update_sends_the_lines_written_after_the_last_one_the_page_shows(manager_client, running):
    shown = live(manager_client, running)["log"]["lines"]
    write_lines(running, *TRANSCRIPT[2:])

    update = live(manager_client, running, after=shown[-1]["id"])

    assert [line["kind"] for line in shown] == ["request", "model", "tool"]
    assert [line["text"] for line in update["log"]["lines"]] == [
        line if isinstance(line, str) else line[0] for line in TRANSCRIPT[2:]
    ]
    assert update["log"]["lines"][0] | {"id": 0, "at": ""} == {
        "id": 0,
        "at": "",
        "severity": "WARNING",
        "agentId": "helper",
        "kind": "tool-output",
        "label": "Tool returned",
        "text": "Tool ended (agent: helper) with output: {'status': 'shipped'}",
    }
    assert update["jobs"][running.job_id]["status"] == "in_progress"
    assert update["log"]["usage"] is None


def test_the_live_update_sends_the_usage_once_the_worker_stored_it(manager_client, answered):
    update = live(manager_client, answered, after=10**12)

    assert update["log"]["lines"] == []
    assert update["log"]["usage"] == {
        "model": "gpt-4.1-mini",
        "inputTokens": "1,234",
        "outputTokens": "56",
        "requests": "2",
        "toolCalls": "1",
    }
    assert update["jobs"][answered.job_id]["message"] == ANSWER


@pytest.mark.parametrize("after", ["", "x", "-1", "1e3", "9" * 40])
def test_a_line_id_that_is_no_number_starts_from_the_first_line(manager_client, answered, after):
    assert len(live(manager_client, answered, after=after)["log"]["lines"]) == len(TRANSCRIPT) + 1


def test_the_live_update_has_no_lines_of_another_tenants_run(outsider_client, answered):
    # The outsider manages globex, and asks globex's endpoint about acme's run.
    query = {"id": answered.job_id, "log": answered.job_id}

    assert outsider_client.get(f"{BASE}/jobs/status.json", query).status_code == 404
    update = outsider_client.get("/console/globex/jobs/status.json", query).json()

    assert update == {"jobs": {}, "log": {"jobId": answered.job_id, "lines": [], "usage": None}}


def test_the_status_endpoint_answers_as_before_when_no_transcript_is_followed(manager_client, answered):
    body = manager_client.get(f"{BASE}/jobs/status.json", {"id": answered.job_id}).json()

    assert set(body) == {"jobs"}


# --- the session link ---------------------------------------------------------------------------------------------


def test_the_session_link_lists_the_runs_of_that_conversation_only(manager_client, answered, tenant):
    make(tenant, job_id="same-session", session_id=SESSION, status=Job.Status.FAILURE)
    make(tenant, job_id="other-session", session_id="another", status=Job.Status.SUCCESS)

    body = manager_client.get(f"{BASE}/jobs/", {"session": SESSION}).content.decode()

    ids = re.findall(r'<tr data-job-id="([^"]*)"', body)
    assert sorted(ids) == sorted([answered.job_id, "same-session"])

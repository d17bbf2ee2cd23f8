"""The job list's filter, which the bulk delete by filter reuses as is: the jobs it deletes are the jobs the
list shows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Q

from apps.core.ids import ID_MAX_LENGTH
from apps.jobs.models import Job


def _any(label: str, values: list[str]) -> list[tuple[str, str]]:
    # The values as they are, as the list's cells and the API show them.
    return [("", label), *((value, value) for value in values)]


class JobFilterForm(forms.Form):
    type = forms.ChoiceField(label="Type", choices=_any("Any type", Job.Type.values), required=False)
    status = forms.ChoiceField(label="Status", choices=_any("Any status", Job.Status.values), required=False)
    agent_type = forms.ChoiceField(label="Agent type", choices=_any("Any", Job.AgentType.values), required=False)
    agent = forms.CharField(label="Agent id", max_length=ID_MAX_LENGTH, required=False, strip=True)
    # The runs of one conversation (the link on an agent run's page).
    session = forms.CharField(label="Session id", max_length=ID_MAX_LENGTH, required=False, strip=True)
    created_from = forms.DateField(label="Created from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label="Created to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(label="Message contains", max_length=200, required=False, strip=True)
    sort = forms.ChoiceField(
        label="Sort", choices=[("newest", "Newest first"), ("oldest", "Oldest first")], required=False, initial="newest"
    )

    FILTER_FIELDS = ("type", "status", "agent_type", "agent", "session", "created_from", "created_to", "q")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "The end of the range is before its start.")
        return data

    @property
    def newest_first(self) -> bool:
        return self.cleaned_data.get("sort") != "oldest"

    def filters(self) -> Q:
        """The filter the valid form stands for; Q() (every job) when no criterion is set."""
        data = self.cleaned_data
        q = Q()
        for name, column in (("type", "type"), ("status", "status"), ("agent_type", "agent_type")):
            if data.get(name):
                q &= Q(**{column: data[name]})
        if data.get("agent"):
            q &= Q(agent_id=data["agent"])
        if data.get("session"):
            q &= Q(session_id=data["session"])
        if data.get("created_from"):
            q &= Q(created_at__gte=_midnight(data["created_from"]))
        if data.get("created_to") and data["created_to"] < date.max:
            # The whole of the last day. Every instant is before the end of the last day there is (9999-12-31).
            q &= Q(created_at__lt=_midnight(data["created_to"] + timedelta(days=1)))
        if data.get("q"):
            # icontains: UPPER(message) LIKE UPPER('%...%'), which the trigram index on UPPER(message) serves on
            # PostgreSQL; % and _ in the text are matched literally.
            q &= Q(message__icontains=data["q"])
        return q

    def criteria(self) -> dict[str, str]:
        """The filter's fields that are set, as query-string values (for links and the bulk delete form)."""
        out: dict[str, str] = {}
        for name in self.FILTER_FIELDS:
            value = self.cleaned_data.get(name)
            if value:
                out[name] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    def described(self) -> list[tuple[str, str]]:
        """(label, value) of each criterion that is set, for the confirmation page."""
        return [(str(self[name].label), value) for name, value in self.criteria().items()]


def _midnight(day: date) -> datetime:
    # The console shows and takes dates in UTC, as the API does.
    return datetime.combine(day, time.min, tzinfo=UTC)

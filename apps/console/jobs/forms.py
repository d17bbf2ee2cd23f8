"""The job list's filter, a django-filter FilterSet, which the bulk delete by filter reuses as is: the jobs it
deletes are the jobs the list shows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from apps.core.ids import ID_MAX_LENGTH
from apps.jobs.models import Job


def _values(values: list[str]) -> list[tuple[str, str]]:
    # The values as they are, as the list's cells and the API show them.
    return [(value, value) for value in values]


class JobFilterForm(forms.Form):
    """The form the FilterSet builds its fields on: the list's order, and the checks across fields."""

    FILTER_FIELDS = ("type", "status", "agent_type", "agent", "session", "created_from", "created_to", "q")

    # Not a filter: the order is the keyset pagination's (selectors.job_page); this only carries the choice.
    sort = forms.ChoiceField(
        label="Sort", choices=[("newest", "Newest first"), ("oldest", "Oldest first")], required=False, initial="newest"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "The end of the range is before its start.")
        return data


class JobFilter(django_filters.FilterSet):  # type: ignore[misc]  # django-filter ships no type hints
    """What the job list shows. Bind it to the query string (or the bulk delete's form), check `is_valid()`,
    then `narrow` a queryset of one tenant's jobs (the selectors scope it, this only narrows it)."""

    type = django_filters.ChoiceFilter(label="Type", choices=_values(Job.Type.values), empty_label="Any type")
    status = django_filters.ChoiceFilter(label="Status", choices=_values(Job.Status.values), empty_label="Any status")
    agent_type = django_filters.ChoiceFilter(
        label="Agent type", choices=_values(Job.AgentType.values), empty_label="Any"
    )
    agent = django_filters.CharFilter(label="Agent id", field_name="agent_id", max_length=ID_MAX_LENGTH)
    # The runs of one conversation (the link on an agent run's page).
    session = django_filters.CharFilter(label="Session id", field_name="session_id", max_length=ID_MAX_LENGTH)
    created_from = django_filters.DateFilter(
        label="Created from", method="filter_created_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = django_filters.DateFilter(
        label="Created to", method="filter_created_to", widget=forms.DateInput(attrs={"type": "date"})
    )
    # icontains: UPPER(message) LIKE UPPER('%...%'), which the trigram index on UPPER(message) serves on
    # PostgreSQL; % and _ in the text are matched literally.
    q = django_filters.CharFilter(
        label="Message contains", field_name="message", lookup_expr="icontains", max_length=200
    )

    class Meta:
        model = Job
        fields: list[str] = []  # the declared filters only
        form = JobFilterForm

    def __init__(self, data: Any = None) -> None:
        # Never read through its own queryset: `narrow` is given the tenant's jobs by the selectors.
        super().__init__(data, queryset=Job.objects.none())

    def filter_created_from(self, jobs: QuerySet[Job], name: str, value: date) -> QuerySet[Job]:
        return jobs.filter(created_at__gte=_midnight(value))

    def filter_created_to(self, jobs: QuerySet[Job], name: str, value: date) -> QuerySet[Job]:
        if value >= date.max:
            return jobs  # every instant is before the end of the last day there is (9999-12-31)
        return jobs.filter(created_at__lt=_midnight(value + timedelta(days=1)))  # the whole of the last day

    def narrow(self, jobs: QuerySet[Job]) -> QuerySet[Job]:
        """`jobs` narrowed to what the valid filter matches (all of them when no criterion is set)."""
        for name, job_filter in self.filters.items():
            jobs = job_filter.filter(jobs, self.form.cleaned_data.get(name))
        return jobs

    @property
    def newest_first(self) -> bool:
        return bool(self.form.cleaned_data.get("sort") != "oldest")

    def criteria(self) -> dict[str, str]:
        """The filter's fields that are set, as query-string values (for links and the bulk delete form)."""
        out: dict[str, str] = {}
        for name in JobFilterForm.FILTER_FIELDS:
            value = self.form.cleaned_data.get(name)
            if value:
                out[name] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    def described(self) -> list[tuple[str, str]]:
        """(label, value) of each criterion that is set, for the confirmation page."""
        return [(str(self.form[name].label), value) for name, value in self.criteria().items()]


def _midnight(day: date) -> datetime:
    # The console shows and takes dates in UTC, as the API does.
    return datetime.combine(day, time.min, tzinfo=UTC)

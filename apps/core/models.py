"""Abstract pieces shared by the domain models; no tables of its own."""

from __future__ import annotations

from typing import Any

from django.db import models

from apps.core.timefmt import now_ms


class Versioned(models.Model):
    """The columns behind the API's `metadata`: `version` counts changes, so every save of an existing row
    is one more and moves `modified_at`."""

    created_at = models.DateTimeField(default=now_ms)
    modified_at = models.DateTimeField(default=now_ms)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            self.version += 1
            self.modified_at = now_ms()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version", "modified_at"}
        super().save(*args, **kwargs)

"""Request bodies of the control API (``/_emulator``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserIn(_Model):
    name: str
    # A personal access token for the user; generated when not given.
    token: str | None = None


class TokenIn(_Model):
    user: str
    token: str | None = None


class AppIn(_Model):
    client_id: str | None = None
    client_secret: str | None = None
    # Exact redirect URIs, as registered in Asana's developer console; empty accepts any.
    redirect_uris: list[str] = Field(default_factory=list)


class ProjectIn(_Model):
    name: str
    sections: list[str] = Field(default_factory=lambda: ["To do", "Doing", "Done"])
    workspace: str | None = None  # the emulated workspace when not given


class SectionIn(_Model):
    name: str


class PersonTaskIn(_Model):
    """Task fields as the API takes them (``name``, ``notes``, ``html_notes``, ``due_on``,
    ``due_at``, ``completed``, and on creation ``projects``/``memberships``/``workspace``),
    and ``user``: who acts (the person in Asana by default)."""

    model_config = ConfigDict(extra="allow")

    user: str | None = None

    def data(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class PlaceIn(_Model):
    project: str
    section: str | None = None
    user: str | None = None


class SectionMoveIn(_Model):
    section: str
    user: str | None = None


class LimitsIn(_Model):
    per_minute: int | None = Field(None, ge=0)
    max_concurrent_reads: int | None = Field(None, ge=0)
    max_concurrent_writes: int | None = Field(None, ge=0)
    window_seconds: float | None = Field(None, gt=0)


class OutageIn(_Model):
    # Required, so that an outage of everything is asked for (null), never a forgotten field.
    project_gid: str | None
    status: int = Field(500, ge=500, le=599)


class ClockIn(_Model):
    seconds: float = Field(gt=0)

"""Request bodies of the control API (``/_emulator``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _JiraModel(BaseModel):
    # Jira's own spelling (accountId, timeZone...) on the wire, Python's in code.
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class UserIn(_JiraModel):
    display_name: str
    email: str | None = None  # <name>@jira.test when not given
    time_zone: str = "UTC"  # an IANA zone: JQL dates are read in it
    admin: bool = False  # holds Administer Jira (admin webhooks)
    api_token: str | None = None  # generated when not given


class TokenIn(_JiraModel):
    account_id: str
    api_token: str | None = None


class AppIn(_Model):
    client_id: str | None = None
    client_secret: str | None = None
    redirect_uris: list[str] = Field(default_factory=list)  # empty: any


class ProjectIn(_Model):
    key: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,9}$")
    name: str


class PersonIssueIn(_JiraModel):
    """An issue as a person creates it: ``project`` (key), ``summary``, and optionally
    ``description`` (ADF, or plain text made into a paragraph per line), ``duedate``,
    ``issuetype`` (name, Task by default); ``accountId`` is who acts."""

    project: str
    summary: str
    description: Any = None
    duedate: str | None = None
    issuetype: str = "Task"
    account_id: str | None = None


class PersonEditIn(_JiraModel):
    """``fields`` as ``PUT /issue`` takes them (a plain-text description is made ADF)."""

    fields: dict[str, Any]
    account_id: str | None = None


class ConditionIn(_Model):
    """Who may take a transition: these account ids only, or (``None``) everyone."""

    account_ids: list[str] | None


class PersonTransitionIn(_JiraModel):
    """By transition ``id`` or by the name of the status to reach (one hop)."""

    id: str | None = None
    status: str | None = None
    account_id: str | None = None


class LimitsIn(_Model):
    burst_get_post: int | None = Field(None, ge=0)
    burst_put_delete: int | None = Field(None, ge=0)
    burst_window_seconds: float | None = Field(None, gt=0)
    issue_writes: int | None = Field(None, ge=0)
    issue_window_seconds: float | None = Field(None, gt=0)
    issue_writes_long: int | None = Field(None, ge=0)
    issue_long_window_seconds: float | None = Field(None, gt=0)


class OutageIn(_Model):
    # Required, so that an outage of everything is asked for (null), never a forgotten field.
    project_key: str | None
    status: int = Field(503, ge=500, le=599)


class ClockIn(_Model):
    seconds: float = Field(gt=0)

"""Whether an issue matches a parsed JQL query (``jql.py``), for search and webhook filters.

Dates in JQL are read in the calling user's profile time zone, not UTC
(https://support.atlassian.com/jira-software-cloud/docs/jql-fields/#Updated-date and
/work/shared/PROVIDERS.md): ``updated >= "2024/05/01 08:00"`` from a user in New York means
12:00 UTC. Accepted forms: ``yyyy/MM/dd HH:mm``, ``yyyy-MM-dd HH:mm``, ``yyyy/MM/dd``,
``yyyy-MM-dd`` and relative periods such as ``-5d``, ``-2h``, ``-30m``, ``-1w``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tether_emulators.jira.errors import JiraError
from tether_emulators.jira.jql import UNBOUNDED, Clause, Query
from tether_emulators.jira.store import Issue, JiraStore
from tether_emulators.jira.workflow import status_named

_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_PERIOD = re.compile(r"([-+]?)(\d+)([wdhm])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
_ORDERABLE = {"updated", "created", "issuekey"}


@dataclass(frozen=True)
class Reader:
    """Who reads the query: their time zone and the emulator's clock."""

    store: JiraStore
    time_zone: str
    now: Callable[[], datetime]


def check(query: Query, reader: Reader, *, bounded: bool = True) -> None:
    """A 400 (Jira's words) for an unbounded query, an unknown field or value."""
    if bounded and not query.clauses:
        raise JiraError(400, UNBOUNDED)
    for clause in query.clauses:
        _value_of(clause, None, reader)  # raises for unknown fields and values
    for field, _ in query.order_by:
        if field not in _ORDERABLE:
            raise JiraError(400, f"Field '{field}' does not exist or you cannot sort by it.")


def matches(query: Query, issue: Issue, reader: Reader) -> bool:
    """Whether ``issue`` passes every clause (``check`` the query first)."""
    return all(_passes(clause, issue, reader) for clause in query.clauses)


def ordered(query: Query, issues: list[Issue]) -> list[Issue]:
    """``issues`` in the query's ``ORDER BY`` (creation order when it has none)."""
    result = sorted(issues, key=lambda i: int(i.id))
    for field, descending in reversed(query.order_by):
        result.sort(key=lambda i, f=field: _sort_key(i, f), reverse=descending)  # type: ignore[misc]
    return result


def _sort_key(issue: Issue, field: str) -> Any:
    if field == "issuekey":
        project, _, number = issue.key.partition("-")
        return project, int(number)
    return issue.updated if field == "updated" else issue.created


def _passes(clause: Clause, issue: Issue, reader: Reader) -> bool:
    actual = _value_of(clause, issue, reader)
    if clause.field in ("updated", "created"):
        return _compare(actual, clause.op, _instant(clause, reader))
    wanted = {_normal(clause, v, reader) for v in clause.values}
    if clause.op in ("=", "in"):
        return actual in wanted
    if clause.op in ("!=", "not in"):
        return actual not in wanted
    raise JiraError(
        400, f"The operator '{clause.op}' is not supported by the field '{clause.field}'."
    )


def _value_of(clause: Clause, issue: Issue | None, reader: Reader) -> Any:
    """The issue's value for the clause's field, normalized as ``_normal`` normalizes values
    (with ``issue`` None, only checks that the field and values are known)."""
    field, store = clause.field, reader.store
    prop = clause.property_path()
    if prop is not None:
        return None if issue is None else _property(issue, *prop)
    if field == "project":
        for value in clause.values:
            if store.project_or_none(value) is None and not _project_named(store, value):
                raise JiraError(400, f"The value '{value}' does not exist for the field 'project'.")
        return None if issue is None else issue.project_id
    if field == "status":
        for value in clause.values:
            if status_named(value) is None:
                raise JiraError(400, f"The value '{value}' does not exist for the field 'status'.")
        return None if issue is None else issue.status_id
    if field == "issuekey":
        return None if issue is None else issue.id
    if field == "issuetype":
        return None if issue is None else issue.issuetype_id
    if field == "reporter":
        return None if issue is None else issue.reporter_id
    if field == "assignee":
        return None  # assignees are not modelled: every issue is unassigned
    if field in ("updated", "created"):
        _instant(clause, reader)
        return None if issue is None else getattr(issue, field)
    raise JiraError(
        400, f"Field '{clause.field}' does not exist or you do not have permission to view it."
    )


def _normal(clause: Clause, value: str, reader: Reader) -> Any:
    store, field = reader.store, clause.field
    if clause.property_path() is not None:
        return value
    if field == "project":
        project = store.project_or_none(value) or _project_named(store, value)
        return project.id if project else None
    if field == "status":
        status = status_named(value)
        return status.id if status else None
    if field == "issuekey":
        found = store.issues.get(value) or next(
            (i for i in store.issues.values() if i.key == value.upper()), None
        )
        return found.id if found else None
    if field == "issuetype":
        types = {t for p in store.projects.values() for t in p.issue_types}
        return next((t.id for t in types if value.casefold() in (t.id, t.name.casefold())), None)
    return value


def _project_named(store: JiraStore, name: str) -> Any:
    return next((p for p in store.projects.values() if p.name.casefold() == name.casefold()), None)


def _property(issue: Issue, key: str, path: list[str]) -> Any:
    value: Any = issue.properties.get(key)
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    # JQL compares property values as text: true, 42 and "42" read alike.
    if isinstance(value, bool):
        return str(value).lower()
    return None if value is None or isinstance(value, dict | list) else str(value)


def _instant(clause: Clause, reader: Reader) -> datetime:
    if len(clause.values) != 1 or clause.op in ("in", "not in"):
        raise JiraError(
            400, f"The operator '{clause.op}' is not supported by the field '{clause.field}'."
        )
    text = clause.values[0].strip()
    period = _period(text)
    if period is not None:
        return reader.now() + period
    for fmt in _DATE_FORMATS:
        try:
            local = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return local.replace(tzinfo=ZoneInfo(reader.time_zone))
    raise JiraError(
        400,
        f"Date value '{text}' for field '{clause.field}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
        "format e.g. '-5d', '4w 2d'.",
    )


def _period(text: str) -> timedelta | None:
    parts = _PERIOD.findall(text.replace(" ", ""))
    if not parts or "".join("".join(p) for p in parts) != text.replace(" ", ""):
        return None
    sign = -1 if parts[0][0] == "-" else 1
    total = sum((timedelta(**{_UNITS[unit]: int(n)}) for _, n, unit in parts), timedelta())
    return sign * total


def _compare(actual: datetime, op: str, wanted: datetime) -> bool:
    comparisons = {
        "=": actual == wanted, "!=": actual != wanted, ">": actual > wanted,
        ">=": actual >= wanted, "<": actual < wanted, "<=": actual <= wanted,
    }  # fmt: skip
    return comparisons[op]

"""A date-only due on a provider whose due is always an instant (Trello's ``due``:
PROVIDERS.md, Trello): the connection owner's zone decides which instant.

A date ``D`` is written as **12:00 local time on D in the owner's zone**, every time, and an
instant exactly at 12:00 local in that zone reads back as the date (anything else is an
instant, ``due_at`` in core). Why noon:

- it is never inside a daylight-saving gap or overlap (clocks change at night), so each date
  has exactly one such instant and the reading back is unambiguous, whatever offset the zone
  had when it was written (the offset of D itself is used, not today's);
- it is the same calendar day for everyone within 11 hours of the owner (midnight would show
  the day before to anyone west of them, 23:59 the day after to anyone east);
- a person typing a due of 12:00 in Trello means "that day" as often as not, so reading it as
  the date loses nothing they meant.

A day that has no noon in a zone (Pacific/Apia skipped 2011-12-30) cannot be written there;
its instant reads back as the next day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tether_sync import Due, normalise_due

ALL_DAY_LOCAL_TIME = time(12)
UTC_ZONE = ZoneInfo("UTC")


def time_zone(name: str | None) -> ZoneInfo:
    """The zone an IANA name (``Pacific/Auckland``) names; ``ValueError`` if none. None or
    empty: UTC (connections made before zones were known)."""
    if not name:
        return UTC_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"not an IANA time zone: {name!r}") from exc


@dataclass(frozen=True)
class Owner:
    """The person a connection belongs to, as far as a provider mapping needs them: their
    time zone (the zone of a date-only due on an instant-only provider), and, for a session
    opened for one link, the zone that link's due was last written in.

    ``zone``: where a date is written now. ``written_in``: where the link's item got its due
    (the owner's zone at that time; None: not known, or no link). The owner may have moved
    since: an item's due that is 12:00 in ``written_in`` is still the date we wrote.
    """

    zone: ZoneInfo = field(default=UTC_ZONE)
    written_in: ZoneInfo | None = None

    @property
    def reading_zones(self) -> tuple[ZoneInfo, ...]:
        """The zones an instant is read as a date in, first match wins: where the item's due
        was written (our own write must read back as no change, whatever the owner's zone
        now), then the owner's (a person who sets 12:00 in their zone means that day)."""
        if self.written_in is None or self.written_in == self.zone:
            return (self.zone,)
        return (self.written_in, self.zone)


def instant_of(due: Due, zone: ZoneInfo) -> datetime:
    """The instant (UTC) a due is written as: an instant is itself; a date is 12:00 local
    time on that day in ``zone``."""
    if isinstance(due, datetime):
        return due.astimezone(UTC)
    return datetime.combine(due, ALL_DAY_LOCAL_TIME, tzinfo=zone).astimezone(UTC)


def due_of(instant: datetime, zone: ZoneInfo, *more: ZoneInfo) -> Due:
    """What an instant read from the provider means: the date whose 12:00 local time in
    ``zone`` (else in each of ``more``, in order) it is, else the instant itself (UTC, to the
    millisecond). ``ValueError`` for a naive datetime."""
    exact = normalise_due(instant)
    assert isinstance(exact, datetime)
    for each in (zone, *more):
        local = exact.astimezone(each)
        if local.timetz().replace(tzinfo=None) == ALL_DAY_LOCAL_TIME:
            day: date = local.date()
            if instant_of(day, each) == exact:
                return day
    return exact


def read_again(due: Due, read_in: ZoneInfo, zones: tuple[ZoneInfo, ...]) -> Due:
    """A due an instant-only provider gave, read in ``read_in`` before the zones that matter
    were known (a webhook parsed before its link is found), as it reads in ``zones``. Lossless:
    a date read in ``read_in`` is exactly 12:00 that day there."""
    if not zones:
        return due
    return due_of(instant_of(due, read_in), *zones)

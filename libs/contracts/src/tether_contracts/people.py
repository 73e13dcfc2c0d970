"""A person's time zone, as the gateway keeps it and tells the connectors.

A zone is an IANA name (``Pacific/Auckland``, ``Asia/Kathmandu``, ``UTC``), checked against
the zone database Python's ``zoneinfo`` reads (the system's, or the ``tzdata`` package).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

DEFAULT_TIME_ZONE = "UTC"
# Files in some zone databases that name no place: the host's own setting, POSIX rules, and
# IANA's placeholder for "not set".
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def _zones() -> frozenset[str]:
    return (frozenset(available_timezones()) - _NOT_PLACES) | {DEFAULT_TIME_ZONE}


def valid_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone; ``ValueError`` (naming it) if not."""
    if name not in _zones():
        raise ValueError(f"not an IANA time zone name (such as Europe/Paris): {name!r}")
    return name


TimeZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(valid_time_zone),
    Field(examples=["Pacific/Auckland"]),
]


class OwnerTimeZone(BaseModel):
    """``PUT /internal/v1/tenants/{t}/owners/{user_id}/time-zone`` on a connector: the zone
    of every connection this person made (where their date-only dues fall on a provider
    whose due is an instant)."""

    time_zone: TimeZoneName


class OwnerZoneUpdated(BaseModel):
    connections: int = Field(description="How many of this person's connections it applies to")

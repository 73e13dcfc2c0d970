"""Column and settings types every service's database code shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator
from sqlalchemy import DateTime, Dialect, TypeDecorator
from sqlalchemy.engine import make_url

# People paste the URLs their tools print; SQLAlchemy's async engine needs the async drivers.
_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}
_SUPPORTED = {"postgresql+asyncpg", "sqlite+aiosqlite"}


def async_database_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("must be a URL such as postgresql+asyncpg://user@host/db")
    scheme = _ASYNC_DRIVERS.get(scheme, scheme)
    if scheme not in _SUPPORTED:
        raise ValueError(f"unsupported database driver {scheme!r}; use one of {sorted(_SUPPORTED)}")
    normalised = f"{scheme}://{rest}"
    make_url(normalised)  # raises on a malformed URL now rather than at the first query
    return normalised


DatabaseUrl = Annotated[str, AfterValidator(async_database_url)]


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend: SQLite hands back naive values.

    Storing UTC on SQLite also keeps its text timestamps ordered, which keyset pagination needs.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

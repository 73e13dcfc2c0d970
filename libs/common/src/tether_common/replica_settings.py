"""The checks every service with a read replica setting makes of it, written once."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, field_validator, model_validator

from tether_common.db import is_sqlite


class ReadReplicaChecked(BaseModel):
    """Mixed into a service's settings that have ``database_url`` and ``read_database_url``:
    an empty ``read_database_url`` (an environment variable cannot hold None) is unset, and a
    replica is refused unless both databases are PostgreSQL (ValueError)."""

    @field_validator("read_database_url", mode="before", check_fields=False)
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _replica_of_postgres(self) -> Self:
        primary: str = getattr(self, "database_url")  # noqa: B009 (declared by the subclass)
        replica: str | None = getattr(self, "read_database_url", None)
        if replica and (is_sqlite(primary) or is_sqlite(replica)):
            raise ValueError("read_database_url needs PostgreSQL for both databases (a replica)")
        return self

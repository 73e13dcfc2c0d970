"""What clients see of tenants, users and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tether_contracts.people import TimeZoneName


class TenantOut(BaseModel):
    id: str = Field(description="Scopes every task you create or see")
    name: str
    time_zone: str = Field(description="IANA zone of its users who set none (default UTC)")


class UserOut(BaseModel):
    id: str
    email: str
    time_zone: str = Field(
        description="Your IANA zone: yours if set, else the tenant's. A date-only due you "
        "export to Trello (whose due is an instant) is due at 12:00 that day in it"
    )
    time_zone_is_own: bool = Field(description="False: it is the tenant's default")


class TokenOut(BaseModel):
    prefix: str = Field(description="The token's first characters, for revoking it")
    created_at: datetime


class MeOut(BaseModel):
    tenant: TenantOut
    user: UserOut
    token: TokenOut


class MePatch(BaseModel):
    """``PATCH /v1/me``: ``time_zone`` an IANA name (``Pacific/Auckland``), or null for the
    tenant's."""

    model_config = ConfigDict(extra="forbid")

    time_zone: TimeZoneName | None

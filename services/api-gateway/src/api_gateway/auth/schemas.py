"""What clients see of tenants, users and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TenantOut(BaseModel):
    id: str = Field(description="Scopes every task you create or see")
    name: str


class UserOut(BaseModel):
    id: str
    email: str


class TokenOut(BaseModel):
    prefix: str = Field(description="The token's first characters, for revoking it")
    created_at: datetime


class MeOut(BaseModel):
    tenant: TenantOut
    user: UserOut
    token: TokenOut

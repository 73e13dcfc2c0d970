"""Alembic environment of the gateway: the shared runner over our metadata."""

from api_gateway.auth.models import Base
from tether_common.alembic_env import run_migrations

run_migrations(Base.metadata)

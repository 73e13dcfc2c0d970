"""Alembic environment of task-core: the shared runner over our metadata."""

from task_core.models import Base
from tether_common.alembic_env import run_migrations

run_migrations(Base.metadata)

#!/usr/bin/env bash
# Distributed mode on this machine: Kafka, PostgreSQL and each service as its own process.
# --replica (make up REPLICA=1) also starts a streaming replica of PostgreSQL on :15433, which
# task-core and the gateway read from.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m tether_devinfra services-up "$@"
cat >&2 <<'MSG'

Tether is up (distributed mode): gateway http://127.0.0.1:8000, task-core :8001,
connectors :8002-8004, Kafka 127.0.0.1:19092, PostgreSQL 127.0.0.1:15432.
Get a token (same database as the gateway):
  TETHER_GATEWAY_DATABASE_URL=postgresql+asyncpg://tether@127.0.0.1:15432/tether .venv/bin/tether token create --tenant acme --email you@example.com
Stop everything with: make down
MSG

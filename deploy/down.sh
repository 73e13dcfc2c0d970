#!/usr/bin/env bash
# Stops what deploy/up.sh started: the services, then Kafka and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m tether_devinfra services-down
.venv/bin/python -m tether_devinfra down

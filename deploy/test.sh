#!/usr/bin/env bash
# Runs every test tier against a real Kafka broker and PostgreSQL server. Starts them (or uses
# KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL when set) and stops what it started.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

already_running=0
if $PY -m tether_devinfra running 2>/dev/null; then already_running=1; fi
eval "$($PY -m tether_devinfra up)" || { echo "could not start Kafka/PostgreSQL" >&2; exit 1; }

$PY -m pytest -n "${TETHER_TEST_WORKERS:-2}" --dist loadfile -q -ra "$@"
status=$?

if [ "$already_running" = 0 ] && [ -z "${KEEP_INFRA:-}" ]; then
  $PY -m tether_devinfra down
fi
exit $status

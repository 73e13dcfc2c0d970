# Tether's everyday commands. Everything a fresh machine needs is installed by these targets:
# uv (from PyPI) and the locked Python environment; Kafka's jars and PostgreSQL's binaries are
# fetched the first time the infrastructure starts.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
PY := .venv/bin/python

.PHONY: help bootstrap run sandbox up down test test-unit lint format schemas clean

help:
	@echo "make run       run Tether embedded (one process, SQLite, in-process bus) on :8000"
	@echo "make test      lint + type-check + every test tier on real Kafka and PostgreSQL"
	@echo "make sandbox   make run plus a connected Trello emulator on :9101 (no account needed)"
	@echo "make up        distributed mode: local Kafka + PostgreSQL + each service as a process"
	@echo "make down      stop what make up started"
	@echo "make lint      ruff + mypy --strict"

bootstrap: .venv/.synced

.venv/.synced: uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	@$(UV) --version >/dev/null 2>&1 || { echo "installing uv from PyPI..."; python3 -m pip install -q "uv==0.13.8"; }
	$(UV) sync --all-packages --frozen
	@touch $@

run: bootstrap
	$(PY) -m tether_cli.main run

sandbox: bootstrap
	$(PY) -m tether_cli.main sandbox

up: bootstrap
	bash deploy/up.sh

down:
	bash deploy/down.sh

lint: bootstrap
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy libs/*/src services/*/src tests conftest.py
	@# Test folders sit in hyphenated (non-package) directories, so each is its own mypy run:
	@# checked together, their conftest.py files would collide as one module name.
	@for dir in libs/*/tests services/*/tests; do \
	  [ -n "$$(ls $$dir/*.py 2>/dev/null)" ] || continue; \
	  $(PY) -m mypy $$dir >/dev/null || { $(PY) -m mypy $$dir; exit 1; }; \
	done; echo "mypy: test folders clean"

format: bootstrap
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

schemas: bootstrap
	$(PY) -m tether_events.schema

test: lint
	bash deploy/test.sh

test-unit: bootstrap
	$(PY) -m pytest -m "not integration and not e2e" -q

clean:
	rm -rf .venv .tether .mypy_cache .ruff_cache

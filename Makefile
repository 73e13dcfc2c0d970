# Tether's everyday commands. Everything a fresh machine needs is installed by these targets:
# uv (from PyPI) and the locked Python environment; Kafka's jars and PostgreSQL's binaries are
# fetched the first time the infrastructure starts.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
PY := .venv/bin/python
# Debian's Chromium: the dashboard's browser test drives it with Playwright (no browser download).
CHROMIUM := /usr/bin/chromium

.PHONY: help bootstrap browser run sandbox up down test test-unit lint format schemas bench bench-quick reset clean

# Each target's "## " comment is its line in `make help`, so the list cannot miss one.
help: ## list every target
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z][a-zA-Z_-]*:.*## / { printf "make %-10s %s\n", $$1, $$2 }' \
	  $(MAKEFILE_LIST)

bootstrap: .venv/.synced ## install uv (from PyPI) and the locked environment into .venv

browser: $(CHROMIUM) ## install Debian's chromium (apt-get, as root) for the dashboard's browser test

$(CHROMIUM):
	@echo "installing Debian's chromium (the dashboard's browser test drives it)..."
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

.venv/.synced: uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	@$(UV) --version >/dev/null 2>&1 || { echo "installing uv from PyPI..."; python3 -m pip install -q "uv==0.13.8"; }
	$(UV) sync --all-packages --frozen
	@touch $@

run: bootstrap ## run Tether embedded (one process, SQLite, in-process bus) on :8000
	$(PY) -m tether_cli run

sandbox: bootstrap ## make run plus connected Trello (:9101), Asana (:9102) and Jira (:9103) emulators (no account needed)
	$(PY) -m tether_cli sandbox

up: bootstrap ## distributed mode: local Kafka + PostgreSQL + each service as a process (REPLICA=1: + a read replica)
	bash deploy/up.sh $(if $(REPLICA),--replica)

down: ## stop what make up started
	bash deploy/down.sh

lint: bootstrap ## ruff check, ruff format --check, mypy --strict
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy libs/*/src services/*/src tests bench conftest.py
	@# Test folders sit in hyphenated (non-package) directories, so each is its own mypy run:
	@# checked together, their conftest.py files would collide as one module name.
	@for dir in libs/*/tests services/*/tests; do \
	  [ -n "$$(ls $$dir/*.py 2>/dev/null)" ] || continue; \
	  $(PY) -m mypy $$dir >/dev/null || { $(PY) -m mypy $$dir; exit 1; }; \
	done; echo "mypy: test folders clean"

format: bootstrap ## ruff format and ruff check --fix
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

schemas: bootstrap ## regenerate the events' JSON Schemas (libs/events/schemas)
	$(PY) -m tether_events.schema

test: lint browser ## lint + type-check + every test tier on real Kafka and PostgreSQL
	bash deploy/test.sh

test-unit: bootstrap ## the fast tier only: no Kafka, no PostgreSQL, no service processes
	$(PY) -m pytest -m "not integration and not e2e" -q

bench: bootstrap ## benchmarks on the real stack: latency at 50-400 changes/s, calls per change, memory (bench/results/)
	$(PY) -m bench

bench-quick: bootstrap ## the short benchmark plan (under 3 minutes on a quiet machine)
	$(PY) -m bench --quick

# Local state: what `make run` and `make sandbox` keep in .tether/ (SQLite databases, the event
# log, the development encryption key) and what `make up` and the tests keep in .cache/infra/
# (Kafka's and PostgreSQL's data, service logs). What make up started is stopped first, so no
# process is still writing into the files being removed.
reset: ## forget all local state (.tether/, .cache/infra/); keeps .venv and downloads
	@if [ -x $(PY) ]; then bash deploy/down.sh; fi
	rm -rf .tether .cache/infra

clean: reset ## reset, then also remove .venv, downloaded Kafka jars (.cache/) and tool caches
	rm -rf .venv .cache .mypy_cache .ruff_cache .pytest_cache .hypothesis

# syntax=docker/dockerfile:1
# One image per service, all from this file: `docker build --target task-core -t tether/task-core .`
# (targets: api-gateway, task-core, trello-connector, asana-connector, jira-connector, and
# migrate, which holds every service's migrations for the one-shot migration job).
# Each image holds only its service's locked dependencies, installed by uv from uv.lock, and
# runs as an unprivileged user. deploy/compose.yaml and deploy/k8s/ use these targets.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build stages: a virtual environment per target, made by uv from the lock file ----
FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/tether/venv
RUN pip install --no-cache-dir "uv==0.13.8"
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services

FROM build AS build-api-gateway
RUN uv sync --frozen --no-dev --no-editable --package tether-api-gateway

FROM build AS build-task-core
RUN uv sync --frozen --no-dev --no-editable --package tether-task-core

FROM build AS build-trello-connector
RUN uv sync --frozen --no-dev --no-editable --package tether-trello-connector

FROM build AS build-asana-connector
RUN uv sync --frozen --no-dev --no-editable --package tether-asana-connector

FROM build AS build-jira-connector
RUN uv sync --frozen --no-dev --no-editable --package tether-jira-connector

FROM build AS build-migrate
RUN uv sync --frozen --no-dev --no-editable \
      --package tether-api-gateway --package tether-task-core \
      --package tether-trello-connector --package tether-asana-connector \
      --package tether-jira-connector

# ---- runtime: the slim base, a non-root user, no build tools, no sources ----
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 tether \
 && useradd --system --uid 10001 --gid tether --home-dir /home/tether --create-home tether
ENV PATH=/opt/tether/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /home/tether
USER 10001:10001

FROM runtime AS api-gateway
COPY --from=build-api-gateway /opt/tether/venv /opt/tether/venv
ENV TETHER_GATEWAY_HOST=0.0.0.0 TETHER_GATEWAY_PORT=8000
EXPOSE 8000
CMD ["python", "-m", "api_gateway", "serve"]

FROM runtime AS task-core
COPY --from=build-task-core /opt/tether/venv /opt/tether/venv
ENV TETHER_TASK_CORE_HOST=0.0.0.0 TETHER_TASK_CORE_PORT=8001
EXPOSE 8001
CMD ["python", "-m", "task_core", "serve"]

FROM runtime AS trello-connector
COPY --from=build-trello-connector /opt/tether/venv /opt/tether/venv
ENV TETHER_TRELLO_HOST=0.0.0.0 TETHER_TRELLO_PORT=8002
EXPOSE 8002
CMD ["python", "-m", "trello_connector", "serve"]

FROM runtime AS asana-connector
COPY --from=build-asana-connector /opt/tether/venv /opt/tether/venv
ENV TETHER_ASANA_HOST=0.0.0.0 TETHER_ASANA_PORT=8003
EXPOSE 8003
CMD ["python", "-m", "asana_connector", "serve"]

FROM runtime AS jira-connector
COPY --from=build-jira-connector /opt/tether/venv /opt/tether/venv
ENV TETHER_JIRA_HOST=0.0.0.0 TETHER_JIRA_PORT=8004
EXPOSE 8004
CMD ["python", "-m", "jira_connector", "serve"]

FROM runtime AS migrate
COPY --from=build-migrate /opt/tether/venv /opt/tether/venv
CMD ["sh", "-ec", "python -m api_gateway migrate && python -m task_core migrate && python -m trello_connector migrate && python -m asana_connector migrate && python -m jira_connector migrate"]

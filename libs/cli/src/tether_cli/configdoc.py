"""Every setting of every service, with its environment variable: ``tether config``.

The README's configuration table is this output; a test keeps the two in step.
"""

from __future__ import annotations

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from api_gateway.config import GatewaySettings
from asana_connector.config import AsanaSettings
from jira_connector.config import JiraSettings
from task_core.config import TaskCoreSettings
from tether_cli.embedded import EmbeddedSettings
from tether_cli.sandbox import SandboxSettings
from trello_connector.config import TrelloSettings

SETTINGS: tuple[tuple[str, type[BaseSettings]], ...] = (
    ("embedded host (make run)", EmbeddedSettings),
    ("sandbox emulators (make sandbox)", SandboxSettings),
    ("api-gateway", GatewaySettings),
    ("task-core", TaskCoreSettings),
    ("trello-connector", TrelloSettings),
    ("asana-connector", AsanaSettings),
    ("jira-connector", JiraSettings),
)


def _shown(value: object) -> str:
    # As one would write it in the environment: true/false, plain strings, URLs as text.
    if isinstance(value, bool):
        return str(value).lower()
    return '""' if value == "" else str(value)


def env_vars(settings: type[BaseSettings]) -> list[tuple[str, str, str]]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    rows = []
    for name, field in settings.model_fields.items():
        default = (
            "" if field.is_required() else _shown(field.get_default(call_default_factory=True))
        )
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            env = str(alias.choices[0])  # a setting shared across services, e.g. TETHER_PUBLIC_URL
        elif isinstance(alias, str):
            env = alias
        else:
            env = f"{prefix}{name.upper()}"
        rows.append((env, default, field.description or ""))
    return rows


def markdown_table() -> str:
    lines: list[str] = []
    for title, settings in SETTINGS:
        lines += [f"**{title}**", "", "| variable | default | meaning |", "|---|---|---|"]
        for env, default, description in env_vars(settings):
            shown = f"`{default}`" if default else "(required)"
            lines.append(f"| `{env}` | {shown} | {description} |")
        lines.append("")
    return "\n".join(lines)

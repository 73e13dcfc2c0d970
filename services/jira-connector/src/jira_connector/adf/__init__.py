"""Tether's Markdown descriptions <-> Jira's ADF (Atlassian Document Format, REST API v3).

    markdown_to_adf(text: str) -> dict
        ``{"type": "doc", "version": 1, "content": [...]}`` made of paragraph, heading (1-6),
        bulletList, orderedList (``attrs.order``), listItem, blockquote, codeBlock
        (``attrs.language``), rule, text (marks strong, em, strike, code, link with ``href``
        and ``title``) and hardBreak; never an empty text node; what ADF cannot nest (a
        heading in a list item, a quote in a quote) flattened to what it can. Never raises.

    adf_to_markdown(doc: Mapping | None) -> AdfMarkdown(text, lossless, losses)
        Markdown that reads back as `normalise_adf(doc)`; mentions, emoji, dates, cards,
        media, panels, tables, expands and unknown nodes or marks become readable text and
        make ``lossless`` False. Raises `InvalidAdf` when ``doc`` is not a ``doc`` node.

    description_held_as(markdown: str) -> str
        The canonical spelling, for ``ProviderAdapter.held_as`` (a fixed point).

    safe_to_replace(current_doc: Mapping | None) -> bool
        The write policy (see `policy`): never overwrite a description Markdown cannot hold.

    validate_adf(doc) -> None
        Raises `InvalidAdf` for shapes Jira refuses.

Sources: Atlassian's ADF structure page and node pages (`STRUCTURE_URL`, `NODES_URL`).
"""

from __future__ import annotations

from jira_connector.adf.convert import (
    UNWRITABLE,
    AdfMarkdown,
    adf_to_markdown,
    markdown_to_adf,
    normalise_adf,
)
from jira_connector.adf.errors import InvalidAdf
from jira_connector.adf.model import NODES_URL, STRUCTURE_URL
from jira_connector.adf.policy import description_held_as, safe_to_replace
from jira_connector.adf.validate import validate_adf

__all__ = [
    "NODES_URL",
    "STRUCTURE_URL",
    "UNWRITABLE",
    "AdfMarkdown",
    "InvalidAdf",
    "adf_to_markdown",
    "description_held_as",
    "markdown_to_adf",
    "normalise_adf",
    "safe_to_replace",
    "validate_adf",
]

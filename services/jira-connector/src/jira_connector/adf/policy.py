"""What the Jira adapter does with descriptions, so that a round trip is no change and a
person's ADF is never rewritten behind their back.

- Reading: Jira's ADF becomes Markdown (`adf_to_markdown`); mentions, tables, panels and the
  like arrive in Tether as their readable text.
- Recognising our own write: `description_held_as` is the description's spelling once Jira
  holds it (``ProviderAdapter.held_as``): core's ``__bold__`` comes back ``**bold**``, and
  that echo is the value written, not an edit.
- Writing over a person's ADF: only when `safe_to_replace` says so. A description holding
  what Markdown cannot show (a mention, a table, an underline...) would lose it if core's text
  replaced it, so the adapter does not write the description of such an issue: it leaves the
  issue as it is and records an error on the link naming `AdfMarkdown.losses`, for a person
  to resolve in Jira (removing those nodes makes the issue writable again). Keeping the nodes
  while replacing the text around them was weighed and refused: it would guess where a
  person's text ended and ours began.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jira_connector.adf.convert import adf_to_markdown, markdown_to_adf


def description_held_as(markdown: str) -> str:
    """The Markdown an issue's description reads back as once ``markdown`` was written: the
    canonical spelling (a fixed point: held_as of its result is itself)."""
    return adf_to_markdown(markdown_to_adf(markdown)).text


def safe_to_replace(current: Mapping[str, Any] | None) -> bool:
    """Whether writing a new description over ``current`` (the issue's ADF, None when it has
    none) loses nothing a person wrote in Jira: True when Markdown shows all of it."""
    return current is None or adf_to_markdown(current).lossless

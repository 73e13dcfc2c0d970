"""Readable stand-ins for the ADF that Markdown cannot show.

Jira's editor writes much that has no Markdown: mentions, emoji, dates, status lozenges, smart
links, media, panels, expands, tables, task lists, layouts, extensions (the node pages under
``model.NODES_URL``). A description must still read as what a person sees in Jira, so each
becomes its visible text: a mention its ``attrs.text`` ("@Ada"), an emoji its ``text`` or
``shortName``, a date its day, a card its URL, media ``(attachment)`` or its ``alt``, and a
container (panel, table, expand, ...) its content, each table cell on lines of its own. The
reader counts every stand-in as a loss, so such a description is never overwritten silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jira_connector.adf.model import paragraph, text_node

_MEDIA = frozenset({"media", "mediaSingle", "mediaGroup", "mediaInline"})
_ATTRIBUTE_TEXT = ("text", "shortName", "url", "alt", "title")


def attributes(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """A node's (or mark's) ``attrs``, or an empty mapping when it has none or a malformed one."""
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, Mapping) else {}


def inline_text(node: Mapping[str, Any]) -> str:
    """The text a node shows where a line of text stands (a mention's ``attrs.text``, ...)."""
    attrs = attributes(node)
    if node.get("type") == "text" and isinstance(node.get("text"), str):
        return str(node["text"])
    if node.get("type") == "hardBreak":
        return "\n"
    if node.get("type") == "date":
        return _day(attrs.get("timestamp"))
    for key in _ATTRIBUTE_TEXT:
        value = attrs.get(key)
        if isinstance(value, str) and value:
            return value
    content = node.get("content")
    if isinstance(content, list) and content:
        return " ".join(inline_text(child) for child in content if isinstance(child, Mapping))
    if node.get("type") == "mention" and isinstance(attrs.get("id"), str):
        return "@" + str(attrs["id"])
    return "(attachment)" if node.get("type") in _MEDIA else ""


def stand_in_blocks(node: Mapping[str, Any]) -> list[Any]:
    """The blocks that show what a block node Tether cannot write holds: its content (left
    for the caller to read in the same place) or a paragraph of its text."""
    content = node.get("content")
    title = attributes(node).get("title")
    blocks: list[Any] = []
    if isinstance(title, str) and title:  # an expand's title
        blocks.append(paragraph([text_node(title)]))
    if isinstance(content, list) and content:
        return blocks + list(content)
    text = inline_text(node)
    return [paragraph([text_node(text)])] if text and not blocks else blocks


def _day(timestamp: object) -> str:
    # A date node holds milliseconds since the epoch, as a string (nodes/date).
    try:
        return datetime.fromtimestamp(int(str(timestamp)) / 1000, UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return str(timestamp or "")

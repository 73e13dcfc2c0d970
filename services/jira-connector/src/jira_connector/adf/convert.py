"""The two conversions, each checked against the other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jira_connector.adf.from_markdown import parse_markdown
from jira_connector.adf.model import AdfNode
from jira_connector.adf.normalise import normalise
from jira_connector.adf.to_markdown import Style, render

# Tried in order; the first whose Markdown reads back as the same ADF wins.
_STYLES = (
    Style(escape=False),
    Style(escape=True),
    Style(escape=False, emphasis="_"),
    Style(escape=True, emphasis="_"),
)
UNWRITABLE = "markup Markdown cannot write"


@dataclass(frozen=True)
class AdfMarkdown:
    """A description read from ADF: its Markdown, and whether that is all of it.

    ``lossless`` is True when writing ``text`` back gives the same ADF up to `normalise_adf`;
    otherwise ``losses`` names what Markdown could not hold (node and mark types, or
    `UNWRITABLE` for a shape like emphasis CommonMark cannot delimit)."""

    text: str
    lossless: bool
    losses: frozenset[str] = frozenset()


def markdown_to_adf(text: str) -> AdfNode:
    """Markdown -> an ADF ``doc`` (version 1) Jira accepts; never raises. Empty text is an
    empty document (``content`` ``[]``)."""
    return normalise(parse_markdown(text))[0]


def normalise_adf(document: Mapping[str, Any]) -> AdfNode:
    """The normal form of an ADF document (see `normalise`); raises `InvalidAdf` when it is
    not a ``doc`` with a content list."""
    return normalise(document)[0]


def adf_to_markdown(document: Mapping[str, Any] | None) -> AdfMarkdown:
    """ADF -> Markdown that reads back as the same ADF, escaped only where needed; None (an
    issue without description) is empty text. Raises `InvalidAdf` only when ``document`` is
    not a ``doc`` with a content list (or nests beyond Python's recursion limit): anything
    inside degrades to readable text."""
    if document is None:
        return AdfMarkdown("", True)
    normal, losses = normalise(document)
    for style in _STYLES:
        text = render(normal, style)
        if markdown_to_adf(text) == normal:
            return AdfMarkdown(text, not losses, losses)
    return AdfMarkdown(render(normal, _STYLES[1]), False, losses | {UNWRITABLE})

"""Tether's Markdown descriptions <-> Asana's `html_notes`, without drift.

    markdown_to_html_notes(text: str) -> str
        Always a `<body>...</body>` document Asana accepts: XML with Asana's own tags only
        (`tags.ALLOWED_TAGS`, from GUIDE_URL), attributes only `href` on `<a>`, newlines as
        literal text. Never raises. Carriage returns become `\\n`; characters XML cannot carry
        become U+FFFD.

    html_notes_to_markdown(html: str) -> str
        The Markdown for an `html_notes` value. Raises `InvalidHtmlNotes` (a ValueError) only
        when the input is not well-formed XML, declares a DTD, or is nested deeper than Python
        can walk; anything well-formed degrades instead: unknown tags and attributes, mentions,
        images, tables and embeds keep their text (see `from_html`).

Round trips: `html_notes_to_markdown(markdown_to_html_notes(m))` is `m` for plain text and for
Markdown written the way this module writes it; any other Markdown is normalised once, and the
normalised text is a fixed point.
"""

from __future__ import annotations

from asana_connector.rich_text.from_html import InvalidHtmlNotes, read_html_notes
from asana_connector.rich_text.markdown_in import parse_markdown
from asana_connector.rich_text.markdown_out import Style, render
from asana_connector.rich_text.tags import ALLOWED_TAGS, GUIDE_URL, Node, to_xml, xml_safe

__all__ = [
    "ALLOWED_TAGS",
    "GUIDE_URL",
    "InvalidHtmlNotes",
    "html_notes_to_markdown",
    "markdown_to_html_notes",
]

# Tried in order; the first whose Markdown markdown-it reads back as the same tree wins.
_STYLES = (
    Style(escape=False),
    Style(escape=True),
    Style(escape=False, underscore_next_to_strong=False),
    Style(escape=True, underscore_next_to_strong=False),
    Style(escape=False, marker_gap=4),
    Style(escape=True, marker_gap=4),
)


def markdown_to_html_notes(text: str) -> str:
    """Markdown -> `html_notes` (`<body>...</body>`); never raises."""
    return to_xml(parse_markdown(_clean(text)))


def html_notes_to_markdown(html: str) -> str:
    """`html_notes` -> Markdown; raises `InvalidHtmlNotes` for input that is not XML."""
    if not html.strip():
        return ""
    return markdown_for(read_html_notes(html))


def markdown_for(tree: list[Node]) -> str:
    """The least-escaped Markdown that reads back as `tree` (or the most careful attempt)."""
    for style in _STYLES:
        text = render(tree, style)
        if parse_markdown(_clean(text)) == tree:
            return text
    return render(tree, _STYLES[1])


def _clean(text: str) -> str:
    return xml_safe(text.replace("\r\n", "\n").replace("\r", "\n"))

"""Rich text (``html_notes``) as Asana accepts it, and ``notes`` as its plain-text rendering.

From https://developers.asana.com/docs/rich-text: rich text is an XML fragment wrapped in a
root ``<body>``, tags closed, balanced and case-sensitive, attribute values quoted; only the
listed tags exist (``<strong> <em> <u> <s> <code> <ol> <ul> <li> <a>``, and for task notes
also ``<h1> <h2> <hr> <blockquote> <pre>`` and tables, per the forum post that announced them:
https://forum.asana.com/t/changes-are-coming-to-rich-text-html-notes-and-html-text-in-asana/113434).
HTML's ``<p>`` and ``<br>`` are not among them: newlines are literal text. Only ``<a>`` takes
attributes (``href`` and the ``data-asana-*`` mention attributes). Anything else is a 400.

Images are left out: writing one needs the gid of an uploaded attachment, which the emulator
does not model, so an ``<img>`` is refused like any unknown tag.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html import escape

from tether_emulators.asana.errors import AsanaError

ALLOWED_TAGS = frozenset(
    {"body", "strong", "em", "u", "s", "code", "ol", "ul", "li", "a"}
    | {"h1", "h2", "hr", "blockquote", "pre", "table", "tr", "td"}
)
LINK_ATTRIBUTES = frozenset(
    {
        "href",
        "data-asana-gid",
        "data-asana-project",
        "data-asana-accessible",
        "data-asana-type",
        "data-asana-dynamic",
    }
)
# Elements after which the plain-text rendering starts a new line.
_BLOCKS = frozenset({"li", "h1", "h2", "hr", "blockquote", "pre", "tr"})


def _invalid(reason: str) -> AsanaError:
    # The wording of Asana's own message is not documented; the status (400) is.
    return AsanaError(400, f"html_notes: {reason}")


def parse_html_notes(value: object) -> ET.Element:
    """The validated ``<body>`` element of an ``html_notes`` value, or a 400."""
    if not isinstance(value, str):
        raise _invalid("Not a string")
    try:
        root = ET.fromstring(value)
    except ET.ParseError as exc:
        raise _invalid(f"XML is invalid: {exc}") from exc
    if root.tag != "body":
        raise _invalid("The root element must be <body>")
    for element in root.iter():
        if element.tag not in ALLOWED_TAGS:
            raise _invalid(f"Tag <{element.tag}> is not supported")
        allowed = LINK_ATTRIBUTES if element.tag == "a" else frozenset()
        for name in element.attrib:
            if name not in allowed:
                raise _invalid(f"Attribute {name} is not supported on <{element.tag}>")
    return root


def plain_text(body: ET.Element) -> str:
    """``notes`` for a validated ``html_notes``: the text, with blocks on their own lines."""
    parts: list[str] = []
    _render(body, parts)
    return "".join(parts).strip("\n")


def _render(element: ET.Element, parts: list[str]) -> None:
    if element.tag in _BLOCKS and not _at_line_start(parts):
        parts.append("\n")
    if element.tag == "li":
        parts.append("• ")
    text = element.text or ""
    if element.tag == "a" and not text and not len(element):
        # A mention (<a data-asana-gid="..."/>) renders as its target in the UI; the
        # emulator has only the attribute to show.
        text = element.get("href") or element.get("data-asana-gid") or ""
    parts.append(text)
    for child in element:
        _render(child, parts)
        parts.append(child.tail or "")
    if element.tag in _BLOCKS:
        parts.append("\n")


def _at_line_start(parts: list[str]) -> bool:
    last = next((part for part in reversed(parts) if part), "\n")
    return last.endswith("\n")


def html_of_plain(notes: str) -> str:
    """``html_notes`` for a task whose ``notes`` were set as plain text."""
    return f"<body>{escape(notes, quote=False)}</body>"

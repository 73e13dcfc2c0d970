"""Asana's rich text vocabulary, the tree both conversions share, and its XML form.

Tags, from Asana's rich text guide (https://developers.asana.com/docs/rich-text, sections
"Reading rich text", "Blocks and whitespace" and "Writing rich text"): every object's rich text
may hold `body strong em u s code ol ul li a`; task notes also `h1 h2 hr`. Newlines are literal
text (there is no `<p>` nor `<br>`), only `<a>` may carry attributes, and anything else is a
400. `<blockquote>` and `<pre>` (quote and code blocks of Asana's editor) are taken from the
guide's current table as quoted by client libraries that validate against it; they were not in
the copy of the guide we could read, so they are the two tags to drop first if Asana refuses
them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, TypeAlias

GUIDE_URL: Final = "https://developers.asana.com/docs/rich-text"

INLINE_TAGS: Final = frozenset({"strong", "em", "s", "code", "a"})
# `<u>` is Asana's, but Markdown has no underline: it is read (as its text) and never written.
READ_ONLY_TAGS: Final = frozenset({"u"})
LIST_TAGS: Final = frozenset({"ul", "ol"})
BLOCK_TAGS: Final = frozenset({"ul", "ol", "h1", "h2", "hr", "blockquote", "pre"})
ALLOWED_TAGS: Final = frozenset(
    {"body", "li"} | INLINE_TAGS | READ_ONLY_TAGS | LIST_TAGS | BLOCK_TAGS
)
# Blocks after which CommonMark would read the next line as part of them (lazy continuation),
# so the Markdown side needs a blank line there that the HTML side does not show.
LAZY_BLOCK_TAGS: Final = frozenset({"ul", "ol", "blockquote"})


@dataclass(frozen=True)
class Element:
    """One tag of the shared tree; `href` only on `a`. Text nodes are plain `str`."""

    tag: str
    children: tuple[Node, ...] = ()
    href: str | None = None


Node: TypeAlias = "str | Element"


def push(nodes: list[Node], node: Node) -> None:
    """Append keeping the tree canonical: no empty text, no two text nodes side by side
    (so two trees that mean the same compare equal)."""
    if isinstance(node, str):
        if not node:
            return
        if nodes and isinstance(nodes[-1], str):
            nodes[-1] += node
            return
    nodes.append(node)


def text_of(nodes: tuple[Node, ...] | list[Node]) -> str:
    """All the text under some nodes, markup dropped."""
    return "".join(n if isinstance(n, str) else text_of(n.children) for n in nodes)


# XML 1.0 cannot carry these at all (not even as references); Asana would answer 400.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """`text` with every character XML cannot carry replaced by U+FFFD (so nothing shifts)."""
    return _NOT_XML.sub("\ufffd", text)


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(value: str) -> str:
    # Newlines and tabs as references: a parser turns literal ones in attributes into spaces.
    escaped = _escape_text(value).replace('"', "&quot;")
    return escaped.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


def to_xml(nodes: tuple[Node, ...] | list[Node]) -> str:
    """The `<body>` document for a tree; text escaped, `<hr/>` self-closed."""
    return "<body>" + "".join(_xml(node) for node in nodes) + "</body>"


def _xml(node: Node) -> str:
    if isinstance(node, str):
        return _escape_text(xml_safe(node))
    if node.tag == "hr":
        return "<hr/>"
    attributes = f' href="{_escape_attribute(xml_safe(node.href))}"' if node.href else ""
    inner = "".join(_xml(child) for child in node.children)
    return f"<{node.tag}{attributes}>{inner}</{node.tag}>"

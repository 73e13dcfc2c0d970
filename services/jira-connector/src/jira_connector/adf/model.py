"""The part of ADF that Markdown can show, as plain JSON-shaped dicts, and how to build it.

Node and mark facts come from Atlassian's ADF reference (STRUCTURE_URL and the node pages
under NODES_URL): a document is ``{"type": "doc", "version": 1, "content": [...]}``; text nodes
are never empty; ``code`` combines with no mark but ``link`` (marks/code); a ``listItem`` starts
with a paragraph or a code block, never with a nested list (nodes/listItem); a ``blockquote``
holds paragraphs, lists and code blocks (nodes/blockquote); a ``codeBlock`` holds unmarked text
(nodes/codeBlock); ``heading`` levels are 1 to 6 (nodes/heading); ``orderedList.attrs.order``
is an integer from 0 (nodes/orderedList).
"""

from __future__ import annotations

from typing import Any, Final, TypeAlias

STRUCTURE_URL: Final = (
    "https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/"
)
NODES_URL: Final = "https://developer.atlassian.com/cloud/jira/platform/apis/document/nodes/"

AdfNode: TypeAlias = dict[str, Any]
# A mark as a hashable value: (type, href, title); href and title only for links.
MarkKey: TypeAlias = tuple[str, str | None, str | None]

INLINE_TYPES: Final = frozenset({"text", "hardBreak"})
LIST_TYPES: Final = frozenset({"bulletList", "orderedList"})
# What each container may hold, of the blocks Tether writes.
TOP_BLOCKS: Final = frozenset(
    {"paragraph", "heading", "bulletList", "orderedList", "blockquote", "codeBlock", "rule"}
)
NESTED_BLOCKS: Final = frozenset({"paragraph", "bulletList", "orderedList", "codeBlock"})
ITEM_FIRST: Final = frozenset({"paragraph", "codeBlock"})
# Marks in the order a node lists them (any order is valid ADF; one order makes trees equal).
MARK_ORDER: Final = ("link", "strong", "em", "strike", "code")
EMPHASIS: Final = ("strong", "em", "strike")
# Inline nodes ADF has and Markdown cannot show, read as the text they display.
KNOWN_INLINE: Final = frozenset(
    {"mention", "emoji", "date", "status", "inlineCard", "placeholder", "mediaInline"}
    | {"inlineExtension"}
)


def doc(content: list[AdfNode]) -> AdfNode:
    """An ADF document (version 1) holding ``content``."""
    return {"type": "doc", "version": 1, "content": content}


def paragraph(content: list[AdfNode]) -> AdfNode:
    """A paragraph of inline nodes (ADF allows it empty)."""
    return {"type": "paragraph", "content": content}


def text_node(text: str, marks: tuple[MarkKey, ...] = ()) -> AdfNode:
    """A text node, with ``marks`` only when there are some (the caller keeps it non-empty)."""
    node: AdfNode = {"type": "text", "text": text}
    if marks:
        node["marks"] = [mark_json(mark) for mark in marks]
    return node


def mark_json(mark: MarkKey) -> AdfNode:
    """A mark as ADF writes it: ``{"type": "link", "attrs": {"href", "title"?}}`` for links."""
    kind, href, title = mark
    if kind != "link":
        return {"type": kind}
    attrs = {"href": href or ""}
    if title:
        attrs["title"] = title
    return {"type": "link", "attrs": attrs}


def sorted_marks(marks: set[MarkKey] | tuple[MarkKey, ...]) -> tuple[MarkKey, ...]:
    """``marks`` in `MARK_ORDER`, so that equal mark sets compare equal."""
    return tuple(sorted(marks, key=lambda mark: MARK_ORDER.index(mark[0])))

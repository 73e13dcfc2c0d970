"""Any ADF document to its normal form: the ADF Tether would write for the same content.

Both directions end here: `markdown_to_adf` builds raw nodes from markdown-it's tokens and
normalises them, and `adf_to_markdown` normalises what Jira holds before writing it out. The
normal form keeps only what Markdown can show (see `model`): no empty paragraphs (a listItem
that needs one to start with excepted), no attributes but a heading's level, a list's order
and a code block's language, marks in one order, touching text with the same marks merged (see
`inline`). Blocks a container cannot hold become what it can: a heading in a list item or a
quote a paragraph, a rule the text ``---``, a quote in a quote or a list item its content.
Anything else is replaced by readable text (`stand_ins`) and named in the losses returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jira_connector.adf.errors import InvalidAdf
from jira_connector.adf.inline import InlineRun, tidy_inline
from jira_connector.adf.model import (
    ITEM_FIRST,
    KNOWN_INLINE,
    LIST_TYPES,
    NESTED_BLOCKS,
    TOP_BLOCKS,
    AdfNode,
    MarkKey,
    doc,
    paragraph,
    text_node,
)
from jira_connector.adf.stand_ins import attributes, inline_text, stand_in_blocks

_INLINE = frozenset({"text", "hardBreak"}) | KNOWN_INLINE
_SIMPLE_MARKS = frozenset({"strong", "em", "strike", "code"})


def normalise(document: Mapping[str, Any]) -> tuple[AdfNode, frozenset[str]]:
    """``(normal form, losses)``: losses name each node or mark type replaced by text or
    dropped (empty when Markdown shows all of it). Raises `InvalidAdf` when ``document`` is
    not a ``doc`` node with a content list, or is nested deeper than Python can walk."""
    content = document.get("content", []) if isinstance(document, Mapping) else None
    if not isinstance(document, Mapping) or document.get("type") != "doc":
        raise InvalidAdf("$", "an ADF document is a node of type 'doc'")
    if not isinstance(content, list):
        raise InvalidAdf("$.content", "a document's content is a list of nodes")
    losses: set[str] = set()
    try:
        return doc(_blocks(content, TOP_BLOCKS, losses)), frozenset(losses)
    except RecursionError as error:  # no editor nests this deep: refuse rather than crash
        raise InvalidAdf("$", "nested too deeply to read") from error


def _blocks(nodes: list[Any], allowed: frozenset[str], losses: set[str]) -> list[AdfNode]:
    out: list[AdfNode] = []
    pending: list[Any] = []  # inline nodes standing where blocks belong: one paragraph
    for node in [*nodes, None]:
        if isinstance(node, Mapping) and node.get("type") in _INLINE:
            pending.append(node)
            continue
        if pending:
            losses.add("inline content outside a paragraph")
            out.extend(_block(paragraph(pending), allowed, losses))
            pending = []
        if node is None:
            break
        if not isinstance(node, Mapping):
            losses.add("malformed node")
            continue
        out.extend(_block(node, allowed, losses))
    return out


def _block(node: Mapping[str, Any], allowed: frozenset[str], losses: set[str]) -> list[AdfNode]:
    kind = node.get("type")
    for mark in _list(node.get("marks")):  # alignment, indentation, breakout
        losses.add(f"{mark.get('type') if isinstance(mark, Mapping) else 'malformed'} mark")
    if kind == "paragraph":
        content = _inline(_list(node.get("content")), losses, heading=False)
        return [paragraph(content)] if content else []
    if kind == "heading":
        heading = _heading(node, allowed, losses)
        return [heading] if heading["content"] or heading["type"] == "heading" else []
    if kind in LIST_TYPES:
        return _list_node(node, losses)
    if kind == "blockquote":
        children = _blocks(_list(node.get("content")), NESTED_BLOCKS, losses)
        if "blockquote" not in allowed:
            return children
        return [{"type": "blockquote", "content": children}] if children else []
    if kind == "codeBlock":
        return [_code_block(node, losses)]
    if kind == "rule":
        return [{"type": "rule"}] if "rule" in allowed else [paragraph([text_node("---")])]
    losses.add(str(kind))
    return _blocks(stand_in_blocks(node), allowed, losses)


def _heading(node: Mapping[str, Any], allowed: frozenset[str], losses: set[str]) -> AdfNode:
    level = attributes(node).get("level")
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 6:
        losses.add("heading level")
        level = min(max(level, 1), 6) if isinstance(level, int) else 1
    raw = _list(node.get("content"))
    if any(isinstance(child, Mapping) and child.get("type") == "hardBreak" for child in raw):
        losses.add("hardBreak in a heading")  # Markdown headings are one line
    content = _inline(raw, losses, heading=True)
    if "heading" not in allowed:
        return paragraph(content)
    return {"type": "heading", "attrs": {"level": level}, "content": content}


def _list_node(node: Mapping[str, Any], losses: set[str]) -> list[AdfNode]:
    items = []
    for item in _list(node.get("content")):
        if not isinstance(item, Mapping) or item.get("type") != "listItem":
            losses.add("list content other than listItem")
            item = {"type": "listItem", "content": [item]}
        children = _blocks(_list(item.get("content")), NESTED_BLOCKS, losses)
        if not children or children[0]["type"] not in ITEM_FIRST:
            children.insert(0, paragraph([]))  # ADF's way to start an item with a list
        items.append({"type": "listItem", "content": children})
    if not items:
        return []
    if node.get("type") == "bulletList":
        return [{"type": "bulletList", "content": items}]
    order = attributes(node).get("order", 1)
    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        losses.add("list order")
        order = 1
    return [{"type": "orderedList", "attrs": {"order": order}, "content": items}]


def _code_block(node: Mapping[str, Any], losses: set[str]) -> AdfNode:
    parts = []
    for child in _list(node.get("content")):
        if not isinstance(child, Mapping) or child.get("type") != "text" or child.get("marks"):
            losses.add("code block content other than plain text")
        parts.append(inline_text(child) if isinstance(child, Mapping) else "")
    code = "".join(parts)
    block: AdfNode = {"type": "codeBlock", "content": [text_node(code)] if code else []}
    language = attributes(node).get("language")
    if isinstance(language, str) and language:
        block["attrs"] = {"language": language}
    return block


def _inline(nodes: list[Any], losses: set[str], heading: bool) -> list[AdfNode]:
    runs: list[InlineRun] = []
    for node in nodes:
        if not isinstance(node, Mapping):
            losses.add("malformed node")
        elif node.get("type") == "text" and isinstance(node.get("text"), str):
            runs.append((str(node["text"]), _marks(_list(node.get("marks")), losses)))
        elif node.get("type") == "hardBreak":
            runs.append(("\n", ()))
        else:
            losses.add(str(node.get("type")))
            runs.append((inline_text(node), ()))
    return tidy_inline(runs, heading=heading)


def _marks(marks: list[Any], losses: set[str]) -> tuple[MarkKey, ...]:
    keys: list[MarkKey] = []
    for mark in marks:
        kind = mark.get("type") if isinstance(mark, Mapping) else None
        if kind in _SIMPLE_MARKS:
            keys.append((str(kind), None, None))
            continue
        href = attributes(mark).get("href") if kind == "link" else None
        if isinstance(href, str) and href:
            title = attributes(mark).get("title")
            keys.append(("link", href, title if isinstance(title, str) and title else None))
        else:
            losses.add(f"{kind} mark")
    return tuple(keys)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []

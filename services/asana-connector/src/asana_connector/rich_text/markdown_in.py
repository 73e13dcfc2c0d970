"""Markdown (Tether's descriptions) to the shared tree, with markdown-it-py.

markdown-it does the parsing (CommonMark, plus `~~strike~~`), so what counts as emphasis, a list
or a link is what any CommonMark reader sees. What it cannot give us is the author's exact
whitespace, and most descriptions are plain text whose every space and blank line must reach
Asana unchanged. So the text between and inside paragraphs is taken from the source lines that
markdown-it's block map points at, and only recognised blocks become tags. The rules that would
turn plain text into something else are switched off: indented code (leading spaces are just
spaces), setext headings (a line of dashes under text), raw HTML, entities, autolinks, images,
link reference definitions (they make lines vanish) and the soft line break (it eats trailing
spaces).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it.token import Token

from asana_connector.rich_text.emphasis import tidy
from asana_connector.rich_text.tags import Element, Node, push
from tether_connector_runtime.markdown import PARSER

_INLINE_TAGS = {"strong": "strong", "em": "em", "s": "s"}
# A blank line and the line end before it: where one paragraph of a block's source ends.
_BLANK_LINE = re.compile(r"(\n[ \t]*\n)")


def parse_markdown(text: str) -> list[Node]:
    """The tree for a Markdown text whose line ends are already `\\n` only."""
    tokens = PARSER.parse(text)
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    nodes: list[Node] = []
    cursor = 0
    skip_blank = False
    for start, end, block in _top_level_blocks(tokens):
        gap = lines[cursor:start]
        if skip_blank and gap and gap[0] == "\n":
            gap = gap[1:]  # the blank line a list or quote needs in Markdown only
        push(nodes, "".join(gap))
        element = _block(block)
        if element is None:  # a paragraph, or a block Asana cannot hold: its source as text
            for node in _inline_by_paragraph("".join(lines[start:end])):
                push(nodes, node)
            skip_blank = False
        else:
            if nodes and isinstance(nodes[-1], str) and nodes[-1].endswith("\n"):
                nodes[-1] = nodes[-1][:-1]  # the line end before a block is the block's
                if not nodes[-1]:
                    nodes.pop()
            nodes.append(element)
            skip_blank = element.tag in ("ul", "ol", "blockquote")
        cursor = end
    gap = lines[cursor:]
    if skip_blank and gap and gap[0] == "\n":
        gap = gap[1:]
    push(nodes, "".join(gap))
    return nodes


def parse_inline(source: str) -> list[Node]:
    """Inline Markdown (emphasis, code, links) to nodes, every other character kept."""
    # The line end that closes a paragraph is read apart: a backslash before it is a
    # backslash, not a hard break (CommonMark: a hard break never ends a block).
    body, end = (source[:-1], "\n") if source.endswith("\\\n") else (source, "")
    tokens = PARSER.parseInline(body)
    nodes = _inline(tokens[0].children or []) if tokens else []
    if end:
        push(nodes, end)
    return nodes


def _inline_by_paragraph(source: str) -> list[Node]:
    """Inline Markdown of a block kept as its source: a span never crosses a blank line (in
    Markdown no emphasis or link does), so each run between blank lines is read alone."""
    nodes: list[Node] = []
    for index, part in enumerate(_BLANK_LINE.split(source)):
        for node in [part] if index % 2 else parse_inline(part):
            push(nodes, node)
    return nodes


def _top_level_blocks(tokens: Sequence[Token]) -> list[tuple[int, int, list[Token]]]:
    blocks: list[tuple[int, int, list[Token]]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        end = index
        if token.nesting == 1:
            depth = 0
            while True:
                depth += tokens[end].nesting
                if depth == 0:
                    break
                end += 1
        assert token.map is not None  # every level-0 opening or leaf token carries one
        blocks.append((token.map[0], token.map[1], list(tokens[index : end + 1])))
        index = end + 1
    return blocks


def _block(tokens: list[Token]) -> Element | None:
    """The tag for one top-level block, or None to keep its source as text."""
    first = tokens[0]
    if first.type == "hr":
        return Element("hr")
    if first.type == "fence":
        content = first.content
        return Element("pre", (content[:-1] if content.endswith("\n") else content,))
    if first.type == "heading_open" and first.tag in ("h1", "h2"):
        children = _inline(tokens[1].children or [])
        return Element(first.tag, tuple(children)) if children else None
    if first.type == "blockquote_open":
        return _quote(tokens)
    if first.type in ("bullet_list_open", "ordered_list_open"):
        return _list(tokens)
    return None


def _quote(tokens: list[Token]) -> Element | None:
    # Asana's quotes hold text only: paragraphs, which it separates by a blank line.
    inner = tokens[1:-1]
    if not inner or any(
        t.type not in ("paragraph_open", "inline", "paragraph_close") for t in inner
    ):
        return None
    nodes: list[Node] = []
    for token in inner:
        if token.type == "inline":
            if nodes:
                push(nodes, "\n\n")
            for node in _inline(token.children or []):
                push(nodes, node)
    return Element("blockquote", tuple(nodes))


def _list(tokens: list[Token]) -> Element | None:
    """A list whose items are each one paragraph, optionally ending in a nested list."""
    items: list[Node] = []
    index = 1
    while index < len(tokens) - 1:
        end = index
        depth = 0
        while True:
            depth += tokens[end].nesting
            if depth == 0:
                break
            end += 1
        item = _item(tokens[index + 1 : end])
        if item is None:
            return None
        items.append(item)
        index = end + 1
    return Element("ol" if tokens[0].type == "ordered_list_open" else "ul", tuple(items))


def _item(inner: list[Token]) -> Element | None:
    if len(inner) < 3 or inner[0].type != "paragraph_open" or inner[2].type != "paragraph_close":
        return None  # empty items (a lone "*" is text) and items led by other blocks
    children = _inline(inner[1].children or [])
    if not children:
        return None
    rest = inner[3:]
    if not rest:
        return Element("li", tuple(children))
    if (
        rest[0].type not in ("bullet_list_open", "ordered_list_open")
        or rest[0].level != rest[-1].level
    ):
        return None
    nested = _list(rest)
    if nested is None:
        return None
    return Element("li", (*children, nested))


def _inline(tokens: Sequence[Token]) -> list[Node]:
    stack: list[tuple[str, str | None, list[Node]]] = [("", None, [])]
    for token in tokens:
        kind = token.type
        if kind in ("text", "text_special"):
            push(stack[-1][2], token.content)
        elif kind in ("softbreak", "hardbreak"):
            push(stack[-1][2], "\n")
        elif kind == "code_inline":
            push(stack[-1][2], Element("code", (token.content,)))
        elif kind.endswith("_open"):
            href = token.attrGet("href") if kind == "link_open" else None
            tag = "a" if kind == "link_open" else _INLINE_TAGS.get(token.tag, token.tag)
            stack.append((tag, str(href) if href is not None else None, []))
        elif kind.endswith("_close"):
            tag, href, children = stack.pop()
            _close(stack[-1][2], tag, href, children)
        else:
            push(stack[-1][2], token.content)
    return tidy(stack[0][2])


def _close(into: list[Node], tag: str, href: str | None, children: list[Node]) -> None:
    if tag == "a" and not href:  # Asana refuses a link without a target: keep its text
        for child in children:
            push(into, child)
        return
    if tag in _INLINE_TAGS:  # `*a *b* c*` nests em in em; the tree (and Asana) need it once
        flat: list[Node] = []
        for child in children:
            same = isinstance(child, Element) and child.tag == tag
            for node in child.children if isinstance(child, Element) and same else [child]:
                push(flat, node)
        children = flat
    push(into, Element(tag, tuple(children), href if tag == "a" else None))

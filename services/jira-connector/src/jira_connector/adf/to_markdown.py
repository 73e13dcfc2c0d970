"""Normal-form ADF to Markdown, escaped no more than it must be.

Most descriptions are plain text, and a person who typed `*` or `1.` in Jira should find those
characters unchanged in Tether, not `\\*`. So `render` writes in a `Style`: text as it is, or
every Markdown character escaped; `*` or `_` for emphasis (next to `**`, one of them may be
read the wrong way). The caller keeps the first style whose Markdown reads back as the same
ADF. Blocks are separated by blank lines; a list right after a list of the same kind takes the
other marker (`-`/`*`, `.`/`)`), or CommonMark would read the two as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jira_connector.adf.model import LIST_TYPES, MARK_ORDER, AdfNode, MarkKey
from tether_connector_runtime.markdown import (
    code_fence,
    code_span,
    escape,
    link_destination,
    link_title,
    longest_run,
)


@dataclass(frozen=True)
class Style:
    """Escape every Markdown character in text, or none; the emphasis delimiter."""

    escape: bool
    emphasis: str = "*"


def render(document: AdfNode, style: Style) -> str:
    """The Markdown for a document in normal form (see `normalise`)."""
    return _blocks(document["content"], style, top=True)


def _blocks(blocks: list[AdfNode], style: Style, top: bool) -> str:
    parts: list[str] = []
    previous: AdfNode | None = None
    alternate = False
    for block in blocks:
        if previous is not None:
            parts.append("\n" if not top and _tight(previous, block) else "\n\n")
        same_list = previous is not None and previous["type"] == block["type"]
        alternate = not alternate if same_list and block["type"] in LIST_TYPES else False
        parts.append(_block(block, style, alternate))
        previous = block
    return "".join(parts)


def _tight(previous: AdfNode, block: AdfNode) -> bool:
    # In a list item, a sub-list may follow its text line directly, as people write it; an
    # ordered list may interrupt a paragraph only when it starts at 1 (CommonMark 5.3).
    starts_at_one = block["type"] == "bulletList" or block.get("attrs", {}).get("order") == 1
    return previous["type"] == "paragraph" and block["type"] in LIST_TYPES and starts_at_one


def _block(block: AdfNode, style: Style, alternate: bool) -> str:
    kind = block["type"]
    if kind == "paragraph":
        return _inline(block["content"], style)
    if kind == "heading":
        text = _inline(block["content"], style)
        level: int = block["attrs"]["level"]
        return "#" * level + (" " + text if text else "")
    if kind == "rule":
        return "---"
    if kind == "codeBlock":
        return _code_block(block)
    if kind == "blockquote":
        inner = _blocks(block["content"], style, top=False)
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
    return _list(block, style, alternate)


def _code_block(block: AdfNode) -> str:
    code = "".join(node["text"] for node in block["content"])
    language = block.get("attrs", {}).get("language", "")
    fence = code_fence(code)
    if "`" in language:  # a backtick fence's info string cannot hold one (CommonMark 4.5)
        fence = "~" * max(3, longest_run(code, "~") + 1)
    return f"{fence}{language}\n{code}\n{fence}" if code else f"{fence}{language}\n{fence}"


def _list(block: AdfNode, style: Style, alternate: bool) -> str:
    order = block.get("attrs", {}).get("order", 1)
    lines: list[str] = []
    for number, item in enumerate(block["content"], start=order):
        if block["type"] == "bulletList":
            marker = "* " if alternate else "- "
        else:
            marker = f"{number}{')' if alternate else '.'} "
        children = item["content"]
        if children[0] == {"type": "paragraph", "content": []}:
            children = children[1:]  # ADF's placeholder before a sub-list: `- - a`
        first, *rest = _blocks(children, style, top=False).split("\n")
        lines.append((marker + first).rstrip(" ") if not first else marker + first)
        lines.extend(" " * len(marker) + line if line else "" for line in rest)
    return "\n".join(lines)


def _inline(nodes: list[AdfNode], style: Style) -> str:
    out: list[str] = []
    stack: list[MarkKey] = []
    line_start = 0
    for index, node in enumerate(nodes):
        if node["type"] == "hardBreak":
            out.extend(_close(mark, style) for mark in reversed(stack))
            stack.clear()
            # A line of nothing but spaces would end the paragraph: `\` keeps it a line.
            blank = not "".join(out[line_start:]).strip(" \t")
            out.append("\\\n" if blank else "\n")
            line_start = len(out)
            continue
        marks = _keys(node)
        formatting = [mark for mark in marks if mark[0] != "code"]
        keep = 0
        while keep < len(stack) and stack[keep] in formatting:
            keep += 1
        out.extend(_close(mark, style) for mark in reversed(stack[keep:]))
        del stack[keep:]
        # The mark that runs furthest opens first, so it can stay open around the others.
        fresh = [mark for mark in formatting if mark not in stack]
        fresh.sort(key=lambda mark: (-_reach(nodes, index, mark), MARK_ORDER.index(mark[0])))
        for mark in fresh:
            out.append(_open(mark, style))
            stack.append(mark)
        text = node["text"]
        if len(formatting) < len(marks):
            out.append(code_span(text))
        else:
            out.append(escape(text) if style.escape else text)
    out.extend(_close(mark, style) for mark in reversed(stack))
    return "".join(out)


def _keys(node: AdfNode) -> list[MarkKey]:
    keys: list[MarkKey] = []
    for mark in node.get("marks", []):
        attrs: dict[str, Any] = mark.get("attrs", {})
        keys.append((mark["type"], attrs.get("href"), attrs.get("title")))
    return keys


def _reach(nodes: list[AdfNode], index: int, mark: MarkKey) -> int:
    reach = 0
    while index + reach < len(nodes) and mark in _keys(nodes[index + reach]):
        reach += 1
    return reach


def _open(mark: MarkKey, style: Style) -> str:
    return {"link": "[", "strong": "**", "em": style.emphasis, "strike": "~~"}[mark[0]]


def _close(mark: MarkKey, style: Style) -> str:
    kind, href, title = mark
    if kind != "link":
        return _open(mark, style)
    suffix = " " + link_title(title) if title else ""
    return f"]({link_destination(href or '')}{suffix})"

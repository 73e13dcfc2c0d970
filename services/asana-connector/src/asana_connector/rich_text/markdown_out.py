"""The shared tree back to Markdown, escaped no more than it must be.

Most descriptions are plain text, and a person who typed `*` or `1.` in Asana should find those
characters unchanged in Tether, not `\\*`. So the text is first written as it is; only when
markdown-it would read that back as something else (emphasis, a list, ...) is the whole
description written again with every Markdown character escaped. `Style` names these attempts;
`render` is checked against the parser by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from asana_connector.rich_text.tags import LAZY_BLOCK_TAGS, Element, Node
from tether_connector_runtime.markdown import code_fence, code_span, escape, link_destination


@dataclass(frozen=True)
class Style:
    """How to write: escape all Markdown characters or none; `*` or `_` for emphasis that
    touches strong emphasis (`***` alone is ambiguous); how far a list item's text sits from
    its marker."""

    escape: bool
    underscore_next_to_strong: bool = True
    # Spaces after a list marker. Wider (4: the most CommonMark allows) when text after a list
    # starts with spaces, which would otherwise read as the last item's continuation.
    marker_gap: int = 1


def render(nodes: tuple[Node, ...] | list[Node], style: Style) -> str:
    """Markdown for the content of `<body>`."""
    parts: list[str] = []
    previous: Element | None = None  # the last block, while nothing else followed it
    alternate = False
    at_start = True
    for node in nodes:
        if isinstance(node, Element) and node.tag in (
            "ul",
            "ol",
            "h1",
            "h2",
            "hr",
            "blockquote",
            "pre",
        ):
            if previous is not None and previous.tag in LAZY_BLOCK_TAGS:
                parts.append("\n")
            elif previous is None and not at_start:
                parts.append("\n")  # the line end before a block belongs to the block
            adjacent = previous is not None and previous.tag == node.tag
            alternate = not alternate if adjacent else False
            parts.append(_block(node, alternate, style))
            previous = node
        else:
            if previous is not None and previous.tag in LAZY_BLOCK_TAGS:
                parts.append("\n")
            parts.append(_inline(node, style, None))
            previous = None
        at_start = False
    text = "".join(parts)
    return text[:-1] if previous is not None and text.endswith("\n") else text


def _block(node: Element, alternate: bool, style: Style) -> str:
    if node.tag == "hr":
        return "---\n"
    if node.tag == "pre":
        code = "".join(n if isinstance(n, str) else "" for n in node.children)
        fence = code_fence(code)
        return f"{fence}\n{code}\n{fence}\n" if code else f"{fence}\n{fence}\n"
    if node.tag in ("h1", "h2"):
        return "#" * int(node.tag[1]) + " " + _inlines(node.children, style, node) + "\n"
    if node.tag == "blockquote":
        lines = _inlines(node.children, style, node).split("\n")
        return "".join(f"> {line}\n" if line else ">\n" for line in lines)
    return _list(node, style, alternate)


def _list(node: Element, style: Style, alternate: bool) -> str:
    # Two lists in a row are one list to CommonMark unless their markers differ.
    out: list[str] = []
    for number, item in enumerate(node.children, start=1):
        if not isinstance(item, Element):
            continue
        gap = " " * style.marker_gap
        if node.tag == "ol":
            marker = f"{number}{')' if alternate else '.'}{gap}"
        else:
            marker = ("*" if alternate else "-") + gap
        text = [child for child in item.children if not _is_list(child)]
        nested = [child for child in item.children if _is_list(child)]
        lines = _inlines(tuple(text), style, item).split("\n")
        indent = " " * len(marker)
        out.append(marker + lines[0] + "\n")
        out.extend(indent + line + "\n" for line in lines[1:])
        for sub in nested:
            assert isinstance(sub, Element)
            out.extend(indent + line + "\n" for line in _list(sub, style, False).splitlines())
    return "".join(out)


def _is_list(node: Node) -> bool:
    return isinstance(node, Element) and node.tag in ("ul", "ol")


def _inlines(nodes: tuple[Node, ...], style: Style, parent: Element | None) -> str:
    return "".join(_inline(node, style, parent) for node in nodes)


def _inline(node: Node, style: Style, parent: Element | None) -> str:
    if isinstance(node, str):
        return escape(node) if style.escape else node
    inner = _inlines(node.children, style, node)
    if node.tag == "strong":
        return f"**{inner}**"
    if node.tag == "em":
        mark = "_" if style.underscore_next_to_strong and _touches_strong(node, parent) else "*"
        return f"{mark}{inner}{mark}"
    if node.tag == "s":
        return f"~~{inner}~~"
    if node.tag == "code":
        return code_span("".join(n if isinstance(n, str) else "" for n in node.children))
    if node.tag == "a":
        return f"[{inner}]({link_destination(node.href or '')})"
    return inner


def _touches_strong(node: Element, parent: Element | None) -> bool:
    edges = [node.children[0], node.children[-1]] if node.children else []
    inside = any(isinstance(edge, Element) and edge.tag == "strong" for edge in edges)
    return inside or (parent is not None and parent.tag == "strong")

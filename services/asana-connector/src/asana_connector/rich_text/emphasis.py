"""Emphasis as Markdown can write it, the one normal form both directions produce: no spaces or
line ends at its edges (they go to its surroundings), never empty, never nested in itself,
never split in two touching runs. Applied when Markdown is read as well as when html_notes is,
so that what we send is already what reading it back gives (a hard break at the start of an
emphasis, ``*\\<newline>x*``, would otherwise move out of it on the way back)."""

from __future__ import annotations

from asana_connector.rich_text.tags import Element, Node, push, text_of

EMPHASIS = ("strong", "em", "s")


def tidy(nodes: list[Node]) -> list[Node]:
    """Emphasis Markdown can write: no edge spaces, never empty, never doubled or split."""
    out: list[Node] = []
    for node in nodes:
        if not isinstance(node, Element) or node.tag not in EMPHASIS:
            if isinstance(node, Element) and node.tag == "a":
                node = Element("a", tuple(tidy(list(node.children))), node.href)
            push(out, node)
            continue
        inner: list[Node] = []
        for child in tidy(list(node.children)):
            same = isinstance(child, Element) and child.tag == node.tag
            for grandchild in child.children if isinstance(child, Element) and same else [child]:
                push(inner, grandchild)
        text = text_of(inner)
        if not text.strip():
            push(out, text)
            continue
        lead, trail = len(text) - len(text.lstrip()), len(text) - len(text.rstrip())
        push(out, text[:lead])
        core = Element(node.tag, tuple(strip_edges(inner)))
        if out and isinstance(out[-1], Element) and out[-1].tag == node.tag and not lead:
            core = Element(node.tag, (*out.pop().children, *core.children))  # type: ignore[union-attr]
        out.append(core)
        push(out, text[len(text) - trail :] if trail else "")
    return out


def strip_edges(nodes: list[Node]) -> list[Node]:
    """Whitespace off both ends of a run of inline nodes (markdown-it drops it there)."""
    out = list(nodes)
    while out and isinstance(out[0], str) and not out[0].strip():
        out.pop(0)
    while out and isinstance(out[-1], str) and not out[-1].strip():
        out.pop()
    if out and isinstance(out[0], str):
        out[0] = out[0].lstrip()
    if out and isinstance(out[-1], str):
        out[-1] = out[-1].rstrip()
    return out

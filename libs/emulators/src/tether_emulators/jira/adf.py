"""Atlassian Document Format (ADF): what API v3 takes and answers as an issue description, and
its wiki-markup rendering, which API v2 and webhook payloads carry.

A document is ``{"type": "doc", "version": 1, "content": [...]}`` of nodes with known
``type``s; text nodes carry ``text`` and optional ``marks``
(https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/). Jira refuses
anything else with a 400 on the field. The node and mark lists below are the documented ones;
the schema's finer rules (which node may contain which) are not checked.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

INVALID = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"

NODE_TYPES = frozenset(
    {
        "blockquote", "bulletList", "codeBlock", "date", "emoji", "expand", "hardBreak",
        "heading", "inlineCard", "listItem", "media", "mediaGroup", "mediaSingle", "mention",
        "nestedExpand", "orderedList", "panel", "paragraph", "rule", "status", "table",
        "tableCell", "tableHeader", "tableRow", "text",
    }
)  # fmt: skip
MARK_TYPES = frozenset(
    {"backgroundColor", "code", "em", "link", "strike", "strong", "subsup", "textColor",
     "underline"}
)  # fmt: skip


def is_document(value: object) -> bool:
    """Whether ``value`` is an ADF document as Jira takes one."""
    if not isinstance(value, dict) or value.get("type") != "doc" or value.get("version") != 1:
        return False
    content = value.get("content")
    return isinstance(content, list) and all(_valid_node(node) for node in content)


def _valid_node(node: object) -> bool:
    if not isinstance(node, dict) or node.get("type") not in NODE_TYPES:
        return False
    if node["type"] == "text":
        text, marks = node.get("text"), node.get("marks", [])
        if not isinstance(text, str) or not text or not isinstance(marks, list):
            return False
        return all(isinstance(m, dict) and m.get("type") in MARK_TYPES for m in marks)
    content = node.get("content", [])
    return isinstance(content, list) and all(_valid_node(child) for child in content)


def plain_document(text: str) -> JSON:
    """A document of one paragraph per line of ``text`` (for the control API's edits)."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


# --- wiki markup (what v2 and webhooks show) ---------------------------------------------------

_MARKS = {"strong": "*{}*", "em": "_{}_", "code": "{{{{{}}}}}", "strike": "-{}-",
          "underline": "+{}+"}  # fmt: skip
_BLOCK_SEPARATOR = "\n\n"


def to_wiki(document: JSON | None) -> str | None:
    """The wiki-markup rendering of a document (None stays None)."""
    if document is None:
        return None
    return _BLOCK_SEPARATOR.join(_block(node, "") for node in document.get("content", []))


def _block(node: JSON, bullet: str) -> str:
    kind = node["type"]
    children: list[JSON] = node.get("content", [])
    if kind == "heading":
        return f"h{node.get('attrs', {}).get('level', 1)}. {_inline(children)}"
    if kind in ("bulletList", "orderedList"):
        mark = bullet + ("*" if kind == "bulletList" else "#")
        return "\n".join(_block(item, mark) for item in children)
    if kind == "listItem":
        parts = [_block(child, bullet) for child in children]
        return "\n".join(p if p.startswith(("*", "#")) else f"{bullet} {p}" for p in parts)
    if kind == "codeBlock":
        return "{code}" + _inline(children) + "{code}"
    if kind == "blockquote":
        return "{quote}" + "\n".join(_block(c, bullet) for c in children) + "{quote}"
    if kind == "rule":
        return "----"
    return _inline(children)


def _inline(nodes: list[JSON]) -> str:
    return "".join(_inline_node(node) for node in nodes)


def _inline_node(node: JSON) -> str:
    kind = node["type"]
    if kind == "hardBreak":
        return "\n"
    if kind != "text":
        return str(node.get("attrs", {}).get("text", ""))  # mentions, emoji, dates
    text = str(node["text"])
    for mark in node.get("marks", []):
        if mark["type"] == "link":
            text = f"[{text}|{mark.get('attrs', {}).get('href', '')}]"
        elif mark["type"] in _MARKS:
            text = _MARKS[mark["type"]].format(text)
    return text

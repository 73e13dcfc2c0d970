"""`validate_adf`: the shapes Jira refuses, found before a request carries them.

Checks the ADF Tether writes (the nodes and marks of `model`) against Atlassian's rules
(``model.STRUCTURE_URL`` and the node and mark pages): the document's ``type`` and
``version``; each node's type allowed where it stands; text non-empty and the only node with
marks; each mark known, at most once, ``code`` with ``link`` alone (marks/code); a link's
``href``; heading levels 1-6; list items starting with a paragraph or a code block; lists
and quotes never empty; no keys ADF does not define. Nodes Tether never writes (mentions,
tables, ...) are refused too: this guards our output, not Jira's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jira_connector.adf.errors import InvalidAdf
from jira_connector.adf.model import ITEM_FIRST, MARK_ORDER, NESTED_BLOCKS, TOP_BLOCKS

_KEYS = frozenset({"type", "content", "attrs", "marks", "text"})
_FORMATTING = frozenset({"strong", "em", "strike"})


def validate_adf(document: object) -> None:
    """Raises `InvalidAdf` (with the path of the first offending node) unless ``document`` is
    a ``doc`` Jira accepts, made of the nodes and marks Tether writes."""
    if not isinstance(document, Mapping) or document.get("type") != "doc":
        raise InvalidAdf("$", "not a node of type 'doc'")
    if document.get("version") != 1:
        raise InvalidAdf("$.version", "ADF documents carry version 1")
    _children(document, "$", TOP_BLOCKS, minimum=0)


def _children(node: Mapping[str, Any], path: str, allowed: frozenset[str], minimum: int) -> None:
    content = node.get("content", [])
    if not isinstance(content, list) or len(content) < minimum:
        raise InvalidAdf(f"{path}.content", f"needs a list of at least {minimum} node(s)")
    for index, child in enumerate(content):
        _node(child, f"{path}.content[{index}]", allowed)


def _node(node: object, path: str, allowed: frozenset[str]) -> None:
    if not isinstance(node, Mapping):
        raise InvalidAdf(path, "not a JSON object")
    kind = node.get("type")
    if kind not in allowed:
        raise InvalidAdf(path, f"a {kind!r} node is not allowed here")
    if set(node) - _KEYS:
        raise InvalidAdf(path, f"unknown keys {sorted(set(node) - _KEYS)}")
    if kind != "text" and "marks" in node:
        raise InvalidAdf(path, "only text nodes carry marks")
    if kind != "text" and "text" in node:
        raise InvalidAdf(path, "only text nodes carry text")
    _CHECKS[str(kind)](node, path)


def _text(node: Mapping[str, Any], path: str) -> None:
    if not isinstance(node.get("text"), str) or not node["text"]:
        raise InvalidAdf(path, "text nodes must hold non-empty text")
    marks = node.get("marks", [])
    if not isinstance(marks, list):
        raise InvalidAdf(f"{path}.marks", "marks are a list")
    kinds = [mark.get("type") if isinstance(mark, Mapping) else None for mark in marks]
    if any(kind not in MARK_ORDER for kind in kinds) or len(set(kinds)) < len(kinds):
        raise InvalidAdf(f"{path}.marks", f"unknown or repeated marks {kinds}")
    if "code" in kinds and _FORMATTING & set(kinds):
        raise InvalidAdf(f"{path}.marks", "code combines with link only")
    for mark in marks:
        href = mark.get("attrs", {}).get("href") if mark["type"] == "link" else ""
        if not isinstance(href, str) or (mark["type"] == "link" and not href):
            raise InvalidAdf(f"{path}.marks", "a link needs attrs.href")


def _leaf(node: Mapping[str, Any], path: str) -> None:
    if "content" in node:
        raise InvalidAdf(path, f"{node['type']} has no content")


def _inline_holder(node: Mapping[str, Any], path: str) -> None:
    _children(node, path, frozenset({"text", "hardBreak"}), minimum=0)


def _heading(node: Mapping[str, Any], path: str) -> None:
    level = node.get("attrs", {}).get("level")
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 6:
        raise InvalidAdf(f"{path}.attrs.level", "heading levels are 1 to 6")
    _inline_holder(node, path)


def _list(node: Mapping[str, Any], path: str) -> None:
    order = node.get("attrs", {}).get("order", 0)
    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        raise InvalidAdf(f"{path}.attrs.order", "a list's order is an integer from 0")
    _children(node, path, frozenset({"listItem"}), minimum=1)


def _list_item(node: Mapping[str, Any], path: str) -> None:
    _children(node, path, NESTED_BLOCKS, minimum=1)
    if node["content"][0]["type"] not in ITEM_FIRST:
        raise InvalidAdf(f"{path}.content[0]", "a list item starts with a paragraph or code")


def _code_block(node: Mapping[str, Any], path: str) -> None:
    language = node.get("attrs", {}).get("language", "")
    if not isinstance(language, str):
        raise InvalidAdf(f"{path}.attrs.language", "a code block's language is a string")
    _children(node, path, frozenset({"text"}), minimum=0)
    if any("marks" in child for child in node.get("content", [])):
        raise InvalidAdf(f"{path}.content", "text in a code block carries no marks")


def _blockquote(node: Mapping[str, Any], path: str) -> None:
    _children(node, path, NESTED_BLOCKS, minimum=1)


_CHECKS = {
    "text": _text,
    "hardBreak": _leaf,
    "rule": _leaf,
    "paragraph": _inline_holder,
    "heading": _heading,
    "bulletList": _list,
    "orderedList": _list,
    "listItem": _list_item,
    "codeBlock": _code_block,
    "blockquote": _blockquote,
}

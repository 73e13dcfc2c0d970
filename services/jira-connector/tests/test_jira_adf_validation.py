"""`validate_adf` refuses what Jira refuses, and says where."""

from __future__ import annotations

from typing import Any

import pytest

from jira_connector.adf import InvalidAdf, validate_adf

Node = dict[str, Any]


def doc(*content: Any) -> Node:
    return {"type": "doc", "version": 1, "content": list(content)}


def para(*content: Any) -> Node:
    return {"type": "paragraph", "content": list(content)}


def item(*content: Any) -> Node:
    return {"type": "listItem", "content": list(content)}


TEXT = {"type": "text", "text": "a"}
EM = {"type": "em"}
LIST = {"type": "bulletList", "content": [item(para())]}

INVALID: list[tuple[Any, str, str]] = [
    ({"type": "doc", "content": []}, "$.version", "version 1"),
    ({"type": "paragraph", "content": []}, "$", "'doc'"),
    (doc(TEXT), "$.content[0]", "not allowed here"),
    (doc({"type": "mention", "attrs": {"id": "x"}}), "$.content[0]", "'mention'"),
    (doc(para({"type": "text", "text": ""})), "$.content[0].content[0]", "non-empty"),
    (doc(para({"type": "text", "text": "a", "marks": [{"type": "underline"}]})),
     "$.content[0].content[0].marks", "unknown or repeated"),
    (doc(para({"type": "text", "text": "a", "marks": [{"type": "em"}, {"type": "em"}]})),
     "$.content[0].content[0].marks", "unknown or repeated"),
    (doc(para({"type": "text", "text": "a", "marks": [{"type": "code"}, {"type": "strong"}]})),
     "$.content[0].content[0].marks", "code combines with link only"),
    (doc(para({"type": "text", "text": "a", "marks": [{"type": "link", "attrs": {}}]})),
     "$.content[0].content[0].marks", "attrs.href"),
    (doc({"type": "paragraph", "content": [TEXT], "marks": [{"type": "strong"}]}),
     "$.content[0]", "only text nodes carry marks"),
    (doc({"type": "heading", "attrs": {"level": 7}, "content": []}),
     "$.content[0].attrs.level", "1 to 6"),
    (doc({"type": "bulletList", "content": []}), "$.content[0].content", "at least 1"),
    (doc({"type": "bulletList", "content": [item(LIST)]}),
     "$.content[0].content[0].content[0]", "starts with a paragraph"),
    (doc({"type": "orderedList", "attrs": {"order": -1}, "content": [item(para())]}),
     "$.content[0].attrs.order", "from 0"),
    (doc({"type": "blockquote", "content": [{"type": "heading", "attrs": {"level": 1}}]}),
     "$.content[0].content[0]", "'heading' node is not allowed"),
    (doc({"type": "codeBlock", "content": [{"type": "text", "text": "a", "marks": [EM]}]}),
     "$.content[0].content", "no marks"),
    (doc({"type": "rule", "content": []}), "$.content[0]", "no content"),
    (doc({"type": "paragraph", "content": [], "colour": "red"}), "$.content[0]", "unknown keys"),
]  # fmt: skip


@pytest.mark.parametrize(("adf", "path", "problem"), INVALID)
def test_shapes_jira_refuses_are_named_with_their_place(adf: Any, path: str, problem: str) -> None:
    with pytest.raises(InvalidAdf) as raised:
        validate_adf(adf)
    assert raised.value.path == path
    assert problem in raised.value.problem


def test_the_shapes_we_write_pass() -> None:
    validate_adf(doc())
    validate_adf(doc(para(), {"type": "codeBlock", "content": []}, {"type": "rule"}))
    nested = {"type": "bulletList", "content": [item(para(TEXT))]}
    validate_adf(
        doc({"type": "orderedList", "attrs": {"order": 0}, "content": [item(para(), nested)]})
    )

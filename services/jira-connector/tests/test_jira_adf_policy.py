"""Descriptions a person wrote in Jira: read as readable text, and never overwritten with less."""

from __future__ import annotations

from typing import Any

import pytest

from jira_connector.adf import (
    UNWRITABLE,
    InvalidAdf,
    adf_to_markdown,
    description_held_as,
    markdown_to_adf,
    safe_to_replace,
)

Node = dict[str, Any]


def doc(*content: Node) -> Node:
    return {"type": "doc", "version": 1, "content": list(content)}


def para(*content: Node) -> Node:
    return {"type": "paragraph", "content": list(content)}


def text(value: str, *marks: Node) -> Node:
    return {"type": "text", "text": value} | ({"marks": list(marks)} if marks else {})


def cell(value: str) -> Node:
    return {"type": "tableCell", "content": [para(text(value))]}


LOSSY: list[tuple[Node, str, str]] = [
    (doc(para(text("Ask "), {"type": "mention", "attrs": {"id": "1", "text": "@Ada"}})),
     "mention", "Ask @Ada"),
    (doc(para({"type": "emoji", "attrs": {"shortName": ":tada:", "text": "🎉"}})), "emoji", "🎉"),
    (doc({"type": "panel", "attrs": {"panelType": "info"}, "content": [para(text("Note"))]}),
     "panel", "Note"),
    (doc({"type": "table", "content": [{"type": "tableRow", "content": [cell("a"), cell("b")]}]}),
     "table", "a\n\nb"),
    (doc({"type": "expand", "attrs": {"title": "More"}, "content": [para(text("inside"))]}),
     "expand", "More\n\ninside"),
    (doc({"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "f"}}]}),
     "mediaSingle", "(attachment)"),
    (doc({"type": "blockCard", "attrs": {"url": "https://e.x/card"}}), "blockCard",
     "https://e.x/card"),
    (doc(para(text("under", {"type": "underline"}))), "underline mark", "under"),
    (doc({"type": "paragraph", "marks": [{"type": "alignment", "attrs": {"align": "center"}}],
          "content": [text("centred")]}), "alignment mark", "centred"),
    (doc({"type": "taskList", "content": [{"type": "taskItem", "content": [text("todo")]}]}),
     "taskList", "todo"),
    (doc({"type": "heading", "attrs": {"level": 1}, "content": [text("a"), {"type": "hardBreak"},
          text("b")]}), "hardBreak in a heading", "# a b"),
]  # fmt: skip


@pytest.mark.parametrize(("adf", "loss", "markdown"), LOSSY)
def test_what_markdown_cannot_hold_is_read_as_its_text_and_named(
    adf: Node, loss: str, markdown: str
) -> None:
    read = adf_to_markdown(adf)
    assert (read.text, read.lossless) == (markdown, False)
    assert loss in read.losses
    assert not safe_to_replace(adf)


def test_emphasis_commonmark_cannot_delimit_is_a_loss() -> None:
    strong_strike = text("0", {"type": "strong"}, {"type": "strike"})
    read = adf_to_markdown(doc(para(strong_strike, text("0"))))
    assert (read.lossless, read.losses) == (False, frozenset({UNWRITABLE}))


def test_a_description_markdown_holds_entirely_may_be_replaced() -> None:
    assert safe_to_replace(None)
    assert safe_to_replace(doc())
    assert safe_to_replace(markdown_to_adf("# Plan\n\n- **ship** it\n- [docs](https://e.x)"))
    # Empty paragraphs, split text and editor ids are spelling, not content.
    padded = doc(para(), {"type": "paragraph", "attrs": {"localId": "7"}, "content": [text("a")]})
    assert safe_to_replace(padded)


def test_an_issue_without_description_reads_as_empty_text() -> None:
    read = adf_to_markdown(None)
    assert (read.text, read.lossless) == ("", True)


def test_a_value_that_is_not_a_document_is_refused() -> None:
    with pytest.raises(InvalidAdf):
        adf_to_markdown({"type": "paragraph", "content": []})


@pytest.mark.parametrize(
    ("written", "held"),
    [
        ("plain text\nover two lines", "plain text\nover two lines"),
        ("__bold__ and _em_", "**bold** and *em*"),
        ("* a\n* b", "- a\n- b"),
        ("intro\n# Title", "intro\n\n# Title"),
        ("  trailing space  \n", "trailing space"),
        ("5 * 3 = 15, a_b_c", "5 * 3 = 15, a_b_c"),
    ],
)
def test_held_as_is_the_spelling_jira_gives_back(written: str, held: str) -> None:
    assert description_held_as(written) == held
    assert description_held_as(held) == held


def test_a_document_nested_beyond_reading_is_refused_not_a_crash() -> None:
    deep: Node = doc()
    node = deep
    for _ in range(5000):
        child: Node = {"type": "blockquote", "content": []}
        node["content"].append(child)
        node = child
    with pytest.raises(InvalidAdf, match="nested too deeply"):
        adf_to_markdown(deep)

"""Markdown <-> ADF, one construct at a time: what Jira receives, and that it comes back."""

from __future__ import annotations

from typing import Any

import pytest

from jira_connector.adf import adf_to_markdown, markdown_to_adf, normalise_adf, validate_adf

# Short builders: p(t("a", STRONG)) and so on.
Node = dict[str, Any]

STRONG: Node = {"type": "strong"}
EM: Node = {"type": "em"}
STRIKE: Node = {"type": "strike"}
CODE: Node = {"type": "code"}


def link(href: str, title: str | None = None) -> Node:
    attrs = {"href": href} | ({"title": title} if title else {})
    return {"type": "link", "attrs": attrs}


def doc(*content: Node) -> Node:
    return {"type": "doc", "version": 1, "content": list(content)}


def t(text: str, *marks: Node) -> Node:
    return {"type": "text", "text": text} | ({"marks": list(marks)} if marks else {})


BR: Node = {"type": "hardBreak"}
RULE: Node = {"type": "rule"}


def p(*content: Node) -> Node:
    return {"type": "paragraph", "content": list(content)}


def h(level: int, *content: Node) -> Node:
    return {"type": "heading", "attrs": {"level": level}, "content": list(content)}


def ul(*items: list[Node]) -> Node:
    return {"type": "bulletList", "content": [{"type": "listItem", "content": i} for i in items]}


def ol(order: int, *items: list[Node]) -> Node:
    content = [{"type": "listItem", "content": i} for i in items]
    return {"type": "orderedList", "attrs": {"order": order}, "content": content}


def quote(*content: Node) -> Node:
    return {"type": "blockquote", "content": list(content)}


def code(text: str, language: str | None = None) -> Node:
    node: Node = {"type": "codeBlock", "content": [t(text)] if text else []}
    return node | ({"attrs": {"language": language}} if language else {})


EXAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("", doc()),
    ("plain words", doc(p(t("plain words")))),
    ("**bold** and *italic*", doc(p(t("bold", STRONG), t(" and "), t("italic", EM)))),
    ("~~gone~~ `x < y`", doc(p(t("gone", STRIKE), t(" "), t("x < y", CODE)))),
    ("***both***", doc(p(t("both", STRONG, EM)))),
    ("**a *b* c**", doc(p(t("a ", STRONG), t("b", STRONG, EM), t(" c", STRONG)))),
    ("[site](https://example.com/a?b=1&c=2)",
     doc(p(t("site", link("https://example.com/a?b=1&c=2"))))),
    ('[site](https://e.x "The title")', doc(p(t("site", link("https://e.x", "The title"))))),
    ('[a](<https://e.x/a b> "say \\"hi\\"")',
     doc(p(t("a", link("https://e.x/a b", 'say "hi"'))))),
    ("[**bold** link](https://e.x)",
     doc(p(t("bold", link("https://e.x"), STRONG), t(" link", link("https://e.x"))))),
    ("[`code`](https://e.x)", doc(p(t("code", link("https://e.x"), CODE)))),
    ("line one\nline two", doc(p(t("line one"), BR, t("line two")))),
    ("one\n\\\nthree", doc(p(t("one"), BR, BR, t("three")))),
    ("first\n\nsecond", doc(p(t("first")), p(t("second")))),
    ("# One\n\n## Two\n\n###### Six", doc(h(1, t("One")), h(2, t("Two")), h(6, t("Six")))),
    ("- one\n- two", doc(ul([p(t("one"))], [p(t("two"))]))),
    ("3. three\n4. four", doc(ol(3, [p(t("three"))], [p(t("four"))]))),
    ("0. zero", doc(ol(0, [p(t("zero"))]))),
    ("1. one\n   - nested\n     1. deeper",
     doc(ol(1, [p(t("one")), ul([p(t("nested")), ol(1, [p(t("deeper"))])])]))),
    ("- - first child a list", doc(ul([p(), ul([p(t("first child a list"))])]))),
    ("- one\n\n  two", doc(ul([p(t("one")), p(t("two"))]))),
    ("- a\n\n* b", doc(ul([p(t("a"))]), ul([p(t("b"))]))),
    ("1. a\n\n1) b", doc(ol(1, [p(t("a"))]), ol(1, [p(t("b"))]))),
    ("> quoted\n> twice\n\nafter", doc(quote(p(t("quoted"), BR, t("twice"))), p(t("after")))),
    ("> - in a quote\n>\n> ```\n> code\n> ```",
     doc(quote(ul([p(t("in a quote"))]), code("code")))),
    ("```python\nif a < b:\n    go()\n```", doc(code("if a < b:\n    go()", "python"))),
    ("````\nuse ``` to fence\n````", doc(code("use ``` to fence"))),
    ("```\n```", doc(code(""))),
    ("``a`b``", doc(p(t("a`b", CODE)))),
    ("`` `tick` ``", doc(p(t("`tick`", CODE)))),
    ("---", doc(RULE)),
    ("above\n\n---\n\nbelow", doc(p(t("above")), RULE, p(t("below")))),
]  # fmt: skip


@pytest.mark.parametrize(("markdown", "adf"), EXAMPLES)
def test_each_construct_becomes_its_adf_and_comes_back(markdown: str, adf: dict[str, Any]) -> None:
    assert markdown_to_adf(markdown) == adf
    validate_adf(adf)
    read = adf_to_markdown(adf)
    assert (read.text, read.lossless) == (markdown, True)


ESCAPED: list[tuple[str, str]] = [
    ("*not em*", r"\*not em\*"),
    ("_not em_", r"\_not em\_"),
    ("`not code`", r"\`not code\`"),
    ("[not](a-link)", r"\[not\](a\-link)"),
    ("# not a heading", r"\# not a heading"),
    ("> not a quote", r"\> not a quote"),
    ("- not a list", r"\- not a list"),
    ("+ not a list", r"\+ not a list"),
    ("1. not a list", r"1\. not a list"),
    ("---", r"\-\-\-"),
    ("~~not struck~~", r"\~\~not struck\~\~"),
    ("\\*a backslash*", r"\\\*a backslash\*"),
]


@pytest.mark.parametrize(("text", "markdown"), ESCAPED)
def test_markdown_characters_typed_in_jira_are_escaped(text: str, markdown: str) -> None:
    adf = doc(p(t(text)))
    assert adf_to_markdown(adf).text == markdown
    assert markdown_to_adf(markdown) == adf


@pytest.mark.parametrize(
    "text", ["2 * 3 * 4", "a_b_c", "100% #1", "x > y", "a - b", "see [1]", "1 + 1 = 2"]
)
def test_characters_that_mean_nothing_where_they_stand_are_not_escaped(text: str) -> None:
    assert adf_to_markdown(doc(p(t(text)))).text == text


def test_a_line_that_would_start_a_list_is_escaped() -> None:
    adf = doc(p(t("intro"), BR, t("- not an item"), BR, t("2. nor this")))
    markdown = adf_to_markdown(adf).text
    assert markdown_to_adf(markdown) == adf


NORMALISED: list[tuple[str, str]] = [
    ("__bold__ _em_", "**bold** *em*"),
    ("* star list", "- star list"),
    ("intro\n- list", "intro\n\n- list"),
    ("# closed #", "# closed"),
    ("**`code in bold`**", "`code in bold`"),
    ("> # heading in a quote", "> heading in a quote"),
    ("> > nested quote", "> nested quote"),
    ("- > quote in a list", "- quote in a list"),
    ("- ___", r"- \-\-\-"),
    ("[empty target]()", "empty target"),
    ("  padded  ", "padded"),
]


@pytest.mark.parametrize(("markdown", "canonical"), NORMALISED)
def test_other_spellings_become_the_canonical_one(markdown: str, canonical: str) -> None:
    adf = markdown_to_adf(markdown)
    validate_adf(adf)
    assert adf_to_markdown(adf).text == canonical
    assert markdown_to_adf(canonical) == adf


def test_emphasis_gives_its_edge_spaces_and_breaks_to_its_surroundings() -> None:
    adf = doc(p(t("a"), t(" bold ", STRONG), BR, t("x")))
    assert adf_to_markdown(adf).text == "a **bold** \nx"
    assert markdown_to_adf("*\\\nb*") == doc(p(t("b", EM)))


def test_jira_shapes_that_mean_the_same_read_the_same() -> None:
    split = doc(
        p(),
        p(t("a", STRONG), t("b", STRONG), t("c", EM, STRONG), {"type": "text", "text": "d"}),
        {"type": "paragraph", "attrs": {"localId": "x"}, "content": []},
    )
    read = adf_to_markdown(split)
    assert (read.text, read.lossless) == ("**ab*c***d", True)


def test_spaces_after_an_empty_line_go_with_it() -> None:
    # The break ending an empty line is written `\`, and markdown-it skips the spaces after it.
    adf = doc(p(t("a"), BR, BR, t("  b")))
    assert normalise_adf(adf) == doc(p(t("a"), BR, BR, t("b")))
    read = adf_to_markdown(adf)
    assert (read.text, read.lossless) == ("a\n\\\nb", True)

"""Generated descriptions: every ADF we write is valid, and nothing drifts either way."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jira_connector.adf import (
    adf_to_markdown,
    description_held_as,
    markdown_to_adf,
    normalise_adf,
    validate_adf,
)

Node = dict[str, Any]
EXAMPLES = settings(max_examples=300, deadline=None)

# Markdown as people type it: words, Markdown characters, and every kind of block.
WORDS = st.text(
    alphabet=st.sampled_from(list("abz09 &<>*_`[]\\~#-+.!é日🎉")), min_size=1, max_size=8
)
PLAIN_WORD = st.text(alphabet=st.sampled_from(list("abcxyz09é日")), min_size=1, max_size=6)
INLINE_SHAPES = ["{}", "**{}**", "*{}*", "_{}_", "~~{}~~", "`{}`", "[{}](https://e.x/{})"]
BLOCK_SHAPES = ["{}", "- {}", "1. {}", "- {}\n  - {}", "# {}", "> {}", "```\n{}\n```", "---"]


@st.composite
def markdown_line(draw: st.DrawFn) -> str:
    def inline() -> str:
        return draw(st.sampled_from(INLINE_SHAPES)).replace("{}", draw(PLAIN_WORD))

    return " ".join(draw(st.lists(st.one_of(st.builds(inline), WORDS), min_size=1, max_size=4)))


@st.composite
def markdown(draw: st.DrawFn) -> str:
    blocks = []
    for _ in range(draw(st.integers(0, 5))):
        shape = draw(st.sampled_from(BLOCK_SHAPES))
        blocks.append(shape.replace("{}", draw(markdown_line()), 1).replace("{}", "x"))
        blocks.append(draw(st.sampled_from(["\n", "\n\n", "\n\n\n"])))
    return "".join(blocks)


ANY_MARKDOWN = st.one_of(markdown(), st.text(max_size=200))


@EXAMPLES
@given(ANY_MARKDOWN)
def test_every_markdown_becomes_adf_jira_accepts(text: str) -> None:
    validate_adf(markdown_to_adf(text))


@EXAMPLES
@given(ANY_MARKDOWN)
def test_the_canonical_spelling_is_a_fixed_point(text: str) -> None:
    held = description_held_as(text)
    assert description_held_as(held) == held


# ADF as Jira's editor holds it, within what Markdown can show.
TEXT = st.text(alphabet=st.sampled_from(list('ab 09*_`[]\\#>-+.!~<|()&"é\n')), min_size=1)
WORD = st.text(alphabet=st.sampled_from(list("abcxyz09é")), min_size=1, max_size=6)
HREFS = ["https://e.x/a", "https://e.x/a b", "https://e.x/(x)", "https://e.x/?q=1&amp;r", "/p"]
FORMATTING = st.lists(st.sampled_from(["strong", "em", "strike"]), unique=True, max_size=3)


@st.composite
def marked_text(draw: st.DrawFn) -> list[Node]:
    """Words with marks; a link may hold some, and words inside may add a mark of their own."""
    marks: list[Node] = [{"type": kind} for kind in draw(FORMATTING)]
    if draw(st.booleans()) and not marks:
        marks = [{"type": "code"}]
    if draw(st.booleans()):
        title = draw(st.one_of(st.none(), st.text(alphabet='ab "\\&()', max_size=5)))
        attrs = {"href": draw(st.sampled_from(HREFS))} | ({"title": title} if title else {})
        marks.append({"type": "link", "attrs": attrs})
    words = draw(st.lists(WORD, min_size=1, max_size=3))
    return [{"type": "text", "text": " ".join(words), "marks": marks}]


@st.composite
def inline_content(draw: st.DrawFn, breaks: bool = True) -> list[Node]:
    """Runs of marked words kept apart by plain text that starts and ends with a space:
    CommonMark delimits emphasis only where a space or punctuation is beside it."""
    nodes: list[Node] = []
    for index in range(draw(st.integers(1, 4))):
        if index:
            gap = draw(st.one_of(st.just(""), TEXT.map(lambda text: text.replace("\n", " "))))
            nodes.append({"type": "text", "text": f" {gap} "})
        if breaks and draw(st.integers(0, 4)) == 0:
            nodes.append({"type": "hardBreak"})
        nodes.extend(
            draw(st.one_of(marked_text(), TEXT.map(lambda text: [{"type": "text", "text": text}])))
        )
    return nodes


@st.composite
def blocks(draw: st.DrawFn, depth: int, top: bool) -> list[Node]:
    kinds = ["paragraph", "codeBlock", "bulletList", "orderedList"]
    kinds += ["heading", "rule", "blockquote"] if top else []
    out: list[Node] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(kinds if depth else kinds[:2]))
        if kind == "paragraph":
            out.append({"type": "paragraph", "content": draw(inline_content())})
        elif kind == "heading":
            level = draw(st.integers(1, 6))
            content = draw(inline_content(breaks=False))
            out.append({"type": "heading", "attrs": {"level": level}, "content": content})
        elif kind == "codeBlock":
            code = draw(st.text(alphabet=st.sampled_from(list("ab `~\n#>-")), max_size=12))
            node: Node = {
                "type": "codeBlock",
                "content": [{"type": "text", "text": code}] if code else [],
            }
            language = draw(st.sampled_from(["", "python", "c++"]))
            out.append(node | ({"attrs": {"language": language}} if language else {}))
        elif kind == "rule":
            out.append({"type": "rule"})
        elif kind == "blockquote":
            out.append({"type": "blockquote", "content": draw(blocks(depth - 1, top=False))})
        else:
            items = [
                {"type": "listItem", "content": draw(blocks(depth - 1, top=False))}
                for _ in range(draw(st.integers(1, 3)))
            ]
            node = {"type": kind, "content": items}
            if kind == "orderedList":
                node["attrs"] = {"order": draw(st.integers(0, 12))}
            out.append(node)
    return out


ADF_DOCS = st.integers(0, 2).flatmap(
    lambda depth: blocks(depth, top=True).map(
        lambda content: {"type": "doc", "version": 1, "content": content}
    )
)


@EXAMPLES
@given(ADF_DOCS)
def test_adf_from_jira_comes_back_as_its_normal_form(adf: Node) -> None:
    read = adf_to_markdown(adf)
    assert read.lossless, read.losses
    assert markdown_to_adf(read.text) == normalise_adf(adf)


UNSUPPORTED: list[tuple[Node, str]] = [
    ({"type": "mention", "attrs": {"id": "5b10", "text": "@Ada"}}, "@Ada"),
    ({"type": "emoji", "attrs": {"shortName": ":smile:"}}, ":smile:"),
    ({"type": "status", "attrs": {"text": "BLOCKED", "color": "red"}}, "BLOCKED"),
    ({"type": "inlineCard", "attrs": {"url": "https://e.x/card"}}, "https://e.x/card"),
    ({"type": "date", "attrs": {"timestamp": "1700000000000"}}, "2023-11-14"),
]


@EXAMPLES
@given(ADF_DOCS, st.sampled_from(UNSUPPORTED), st.integers(0, 50))
def test_a_node_markdown_cannot_hold_is_a_loss_and_stays_readable(
    adf: Node, unsupported: tuple[Node, str], where: int
) -> None:
    node, text = unsupported
    content = adf["content"]
    content.insert(where % (len(content) + 1), {"type": "paragraph", "content": [node]})
    read = adf_to_markdown(adf)
    assert not read.lossless
    assert node["type"] in read.losses
    assert text in read.text.replace("\\", "")

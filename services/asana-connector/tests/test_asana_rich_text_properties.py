"""Generated documents: every output is XML in Asana's tag set, and nothing drifts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from asana_connector.rich_text import (
    ALLOWED_TAGS,
    html_notes_to_markdown,
    markdown_to_html_notes,
)

WORDS = st.text(
    alphabet=st.sampled_from(list("abz09 &<>*_`[]\\~#-+.!é日🎉")), min_size=1, max_size=8
)
PLAIN_WORD = st.text(alphabet=st.sampled_from(list("abcxyz09é日")), min_size=1, max_size=6)


@st.composite
def inline(draw: st.DrawFn) -> str:
    word = draw(PLAIN_WORD)
    shape = draw(
        st.sampled_from(["{}", "**{}**", "*{}*", "~~{}~~", "`{}`", "[{}](https://e.x/{})"])
    )
    return shape.replace("{}", word)


@st.composite
def markdown_line(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(inline(), WORDS), min_size=1, max_size=4))
    return " ".join(parts)


@st.composite
def markdown_block(draw: st.DrawFn) -> str:
    line = draw(markdown_line())
    kind = draw(st.sampled_from(["text", "ul", "ol", "nested", "h1", "h2", "quote", "fence", "hr"]))
    lines = {
        "text": line,
        "ul": f"- {line}\n- {draw(markdown_line())}",
        "ol": f"1. {line}\n2. {draw(markdown_line())}",
        "nested": f"- {line}\n  1. {draw(markdown_line())}",
        "h1": f"# {line}",
        "h2": f"## {line}",
        "quote": f"> {line}",
        "fence": f"```\n{line}\n```",
        "hr": "---",
    }
    return lines[kind]


MARKDOWN = st.lists(markdown_block(), max_size=6).flatmap(
    lambda blocks: st.lists(
        st.sampled_from(["\n", "\n\n", "\n\n\n"]), min_size=len(blocks), max_size=len(blocks)
    ).map(lambda gaps: "".join(b + g for b, g in zip(blocks, gaps, strict=True)))
)
ANY_TEXT = st.text(max_size=200)


def assert_asana_can_read(html: str) -> None:
    root = ET.fromstring(html)
    assert root.tag == "body"
    for element in root.iter():
        assert element.tag in ALLOWED_TAGS - {"u"}
        assert set(element.keys()) <= ({"href"} if element.tag == "a" else set())


@settings(max_examples=300, deadline=None)
@given(st.one_of(MARKDOWN, ANY_TEXT))
def test_every_output_is_xml_in_asanas_tag_set(markdown: str) -> None:
    assert_asana_can_read(markdown_to_html_notes(markdown))


@settings(max_examples=300, deadline=None)
@given(st.one_of(MARKDOWN, ANY_TEXT))
def test_markdown_is_a_fixed_point_after_one_normalisation(markdown: str) -> None:
    html = markdown_to_html_notes(markdown)
    normalised = html_notes_to_markdown(html)
    assert markdown_to_html_notes(normalised) == html
    assert html_notes_to_markdown(markdown_to_html_notes(normalised)) == normalised


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(" \n\t"),
        max_size=120,
    )
)
def test_text_without_markdown_round_trips_byte_for_byte(text: str) -> None:
    html = markdown_to_html_notes(text)
    root = ET.fromstring(html)
    if len(root) == 0 and root.text == (text or None):  # markdown-it saw no Markdown in it
        assert html_notes_to_markdown(html) == text


@st.composite
def editor_inline(draw: st.DrawFn) -> str:
    word = draw(PLAIN_WORD).replace("&", "&amp;")
    tag = draw(st.sampled_from(["", "strong", "em", "s", "code", "a"]))
    if not tag:
        return word
    if tag == "a":
        return f'<a href="https://e.x/{word}">{word}</a>'
    return f"<{tag}>{word}</{tag}>"


@st.composite
def editor_html(draw: st.DrawFn) -> str:
    """Rich text as Asana's editor writes it: blocks, and text lines with words and tags."""

    def line() -> str:
        return " ".join(draw(st.lists(editor_inline(), min_size=1, max_size=4)))

    blocks = []
    previous = ""
    for kind in draw(
        st.lists(
            st.sampled_from(["text", "ul", "ol", "h1", "h2", "hr", "pre", "quote"]), max_size=6
        )
    ):
        if kind == "text":
            # The editor never writes two text runs side by side: they are one run.
            start = "\n" if previous == "text" else ""
            blocks.append(start + line() + draw(st.sampled_from(["", "\n", "\n\n"])))
        elif kind in ("ul", "ol"):
            items = "".join(f"<li>{line()}</li>" for _ in range(draw(st.integers(1, 3))))
            blocks.append(f"<{kind}>{items}</{kind}>")
        elif kind == "hr":
            blocks.append("<hr/>")
        elif kind == "pre":  # code blocks hold text only
            blocks.append(f"<pre>{draw(PLAIN_WORD)}\n  {draw(PLAIN_WORD)}</pre>")
        elif kind == "quote":
            blocks.append(f"<blockquote>{line()}</blockquote>")
        else:
            blocks.append(f"<{kind}>{line()}</{kind}>")
        previous = kind
    return "<body>" + "".join(blocks) + "</body>"


@settings(max_examples=300, deadline=None)
@given(editor_html())
def test_html_from_asanas_editor_comes_back_unchanged(html: str) -> None:
    assert markdown_to_html_notes(html_notes_to_markdown(html)) == html

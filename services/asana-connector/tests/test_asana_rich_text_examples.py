"""Markdown <-> html_notes, one construct at a time: what Asana receives, and that it comes back."""

from __future__ import annotations

import pytest

from asana_connector.rich_text import (
    InvalidHtmlNotes,
    html_notes_to_markdown,
    markdown_to_html_notes,
)

EXAMPLES = [
    ("plain words", "<body>plain words</body>"),
    ("**bold** and *italic*", "<body><strong>bold</strong> and <em>italic</em></body>"),
    ("~~gone~~ `x < y`", "<body><s>gone</s> <code>x &lt; y</code></body>"),
    ("[site](https://example.com/a?b=1&c=2)",
     '<body><a href="https://example.com/a?b=1&amp;c=2">site</a></body>'),
    ("intro\n- one\n- two", "<body>intro<ul><li>one</li><li>two</li></ul></body>"),
    ("1. one\n2. two\n   - nested",
     "<body><ol><li>one</li><li>two<ul><li>nested</li></ul></li></ol></body>"),
    ("# Title\ntext", "<body><h1>Title</h1>text</body>"),
    ("## Part\n---\nend", "<body><h2>Part</h2><hr/>end</body>"),
    ("> quoted\n> twice\n\nafter", "<body><blockquote>quoted\ntwice</blockquote>after</body>"),
    ("```\nif a < b:\n    go()\n```", "<body><pre>if a &lt; b:\n    go()</pre></body>"),
    ("- a\n\n* b", "<body><ul><li>a</li></ul><ul><li>b</li></ul></body>"),
]  # fmt: skip


@pytest.mark.parametrize(("markdown", "html"), EXAMPLES)
def test_each_construct_becomes_asanas_tag_and_comes_back(markdown: str, html: str) -> None:
    assert markdown_to_html_notes(markdown) == html
    assert html_notes_to_markdown(html) == markdown


@pytest.mark.parametrize(
    "text",
    [
        "",
        "*",
        "a * b",
        "  leading spaces\ntrailing spaces   \n\n\n\nafter three blank lines\n",
        "    four spaces are not code",
        "Price: 5 * 3 = 15, a_b_c, 100%",
        "-",
        "1.",
        "### not an Asana heading",
        "tabs\there & <angle> brackets",
        "ünïcödé 日本語 🎉",
    ],
)
def test_plain_text_survives_byte_for_byte(text: str) -> None:
    assert html_notes_to_markdown(markdown_to_html_notes(text)) == text


def test_markdown_characters_typed_in_asana_are_escaped_only_when_needed() -> None:
    assert html_notes_to_markdown("<body>2 * 3 * 4</body>") == "2 * 3 * 4"
    assert html_notes_to_markdown("<body>*not em*</body>") == r"\*not em\*"
    assert markdown_to_html_notes(r"\*not em\*") == "<body>*not em*</body>"


def test_no_paragraph_or_break_tags_newlines_are_text() -> None:
    assert markdown_to_html_notes("one\ntwo\n\nthree") == "<body>one\ntwo\n\nthree</body>"


def test_characters_xml_cannot_carry_are_replaced_not_sent() -> None:
    assert markdown_to_html_notes("a\x00b\x07c\r\nd") == "<body>a\ufffdb\ufffdc\nd</body>"


def test_a_link_asana_would_refuse_stays_text() -> None:
    assert markdown_to_html_notes("[x]()") == "<body>x</body>"
    assert (
        markdown_to_html_notes("[x](javascript:alert(1))")
        == "<body>[x](javascript:alert(1))</body>"
    )


def test_mentions_images_tables_and_embeds_degrade_to_their_text() -> None:
    html = (
        '<body>ask <a href="https://app.asana.com/0/1/list" data-asana-gid="9" '
        'data-asana-type="user">@Tim</a> <a data-asana-gid="5"/>'
        '<img data-asana-gid="2" alt="diagram" src="s"/>'
        "<table><tr><td>cell</td></tr></table>"
        '<object type="application/vnd.asana.external_media"><a href="https://v">v</a></object>'
        "<u>under</u></body>"
    )
    assert html_notes_to_markdown(html) == "ask @Tim diagram\ncell\n[v](https://v)\nunder"


def test_blocks_nested_where_markdown_cannot_follow_keep_their_text() -> None:
    html = (
        "<body><ul><li>a<h1>b</h1><pre>c</pre></li></ul><strong><ul><li>d</li></ul></strong></body>"
    )
    assert html_notes_to_markdown(html) == "- abc\n\n**d**"


def test_text_indented_after_a_list_stays_after_it() -> None:
    """Found by the fixed-point property: after `- 0`, a blank line and two spaces read as the
    item's second paragraph, so the list's marker is widened beyond the text's indent."""
    html = "<body>0<ul><li>0</li></ul>  1. &gt;\n</body>"
    markdown = html_notes_to_markdown(html)
    assert markdown == "0\n-    0\n\n  1. >\n"
    assert markdown_to_html_notes(markdown) == html


def test_emphasis_spaces_move_outside_so_markdown_can_hold_them() -> None:
    assert html_notes_to_markdown("<body>a<strong> b </strong>c</body>") == "a **b** c"


@pytest.mark.parametrize(
    "html",
    ["<body>unclosed", "not xml at all <", '<!DOCTYPE b [<!ENTITY x "y">]><body>&x;</body>'],
)
def test_what_is_not_xml_is_refused_with_a_specific_error(html: str) -> None:
    with pytest.raises(InvalidHtmlNotes):
        html_notes_to_markdown(html)


def test_empty_notes_are_empty_markdown() -> None:
    assert html_notes_to_markdown("") == ""
    assert html_notes_to_markdown("<body></body>") == ""
    assert markdown_to_html_notes("") == "<body></body>"


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        # A hard break opening an emphasis: its line end goes outside, as reading back puts it.
        ("*\\\n0*\n", "<body>\n<em>0</em>\n</body>"),
        # A list Asana cannot hold stays its source; no emphasis spans its blank line.
        ("- >\n- 0\n_*\n\n- 0\n  1. 0_\n", "<body>- &gt;\n- 0\n_*\n\n- 0\n  1. 0_\n</body>"),
    ],
)
def test_what_we_send_is_what_reading_it_back_gives(markdown: str, html: str) -> None:
    assert markdown_to_html_notes(markdown) == html
    normalised = html_notes_to_markdown(html)
    assert markdown_to_html_notes(normalised) == html


def test_a_backslash_ending_a_paragraph_is_a_backslash_not_a_line_break() -> None:
    # CommonMark: a hard break never ends a block. Read as one, the paragraph after a list was
    # a bare line end, which no Markdown can write after a list: the round trip lost it.
    for markdown in ("- one\n\n\\\n", "text\n\n\\\n", "\\\n"):
        html = markdown_to_html_notes(markdown)
        assert "\\" in html
        assert html_notes_to_markdown(html) == markdown
    assert markdown_to_html_notes("a\\\nb") == "<body>a\nb</body>"  # mid-paragraph: a break

"""The one normal form of a paragraph's (or heading's) inline content, for both directions.

Markdown cannot write everything ADF can hold inline: emphasis that starts or ends with a
space or a line break is not emphasis to a CommonMark reader, a paragraph loses the spaces and
line breaks at its edges, and a line break carries no marks. So content read from Jira and
content read from Markdown both pass through `tidy_inline`, which moves such spaces out of the
emphasis, drops the edges, and merges touching text with the same marks: two trees that mean
the same then compare equal, and what Tether writes is already what reading it back gives.
"""

from __future__ import annotations

from typing import TypeAlias

from markdown_it.common.utils import MD_TRIM_CHARS, isWhiteSpace

from jira_connector.adf.model import EMPHASIS, AdfNode, MarkKey, sorted_marks, text_node

# Inline content as runs of text with their marks; a "\n" in a run is a hardBreak.
InlineRun: TypeAlias = tuple[str, tuple[MarkKey, ...]]
_Char: TypeAlias = tuple[str, tuple[MarkKey, ...]]


def tidy_inline(runs: list[InlineRun], *, heading: bool = False) -> list[AdfNode]:
    """The normal form of some inline runs: text and hardBreak nodes (a heading, whose
    Markdown is one line, takes line breaks as spaces)."""
    chars = _chars(runs, heading)
    for kind in EMPHASIS:
        _trim_emphasis(chars, kind)
    return _nodes(_after_blank_lines(_strip_edges(chars)))


def _chars(runs: list[InlineRun], heading: bool) -> list[_Char]:
    chars: list[_Char] = []
    for text, marks in runs:
        kinds = {mark[0] for mark in marks}
        if "code" in kinds:  # ADF's code combines with link only (marks/code)
            marks = tuple(mark for mark in marks if mark[0] in ("code", "link"))
        marks = sorted_marks(tuple(dict.fromkeys(marks)))
        for char in text:
            if char == "\n":
                chars.append((" ", marks) if heading else ("\n", ()))
            else:
                chars.append((char, marks))
    return chars


def _is_space(char: str) -> bool:
    return isWhiteSpace(ord(char))


def _trim_emphasis(chars: list[_Char], kind: str) -> None:
    """Takes mark `kind` off the spaces at both ends of each run of text it covers."""
    index = 0
    while index < len(chars):
        if not _has(chars[index], kind):
            index += 1
            continue
        end = index
        while end < len(chars) and _has(chars[end], kind):
            end += 1
        start, stop = index, end
        while start < stop and _is_space(chars[start][0]):
            chars[start] = _without(chars[start], kind)
            start += 1
        while stop > start and _is_space(chars[stop - 1][0]):
            chars[stop - 1] = _without(chars[stop - 1], kind)
            stop -= 1
        index = end


def _has(char: _Char, kind: str) -> bool:
    return any(mark[0] == kind for mark in char[1])


def _without(char: _Char, kind: str) -> _Char:
    return char[0], tuple(mark for mark in char[1] if mark[0] != kind)


def _strip_edges(chars: list[_Char]) -> list[_Char]:
    # markdown-it trims a paragraph's source with MD_TRIM_CHARS: unmarked spaces and line
    # breaks at either end are gone (marked ones sit inside `**`, `[` or a code span).
    def strippable(char: _Char) -> bool:
        return not char[1] and (char[0] == "\n" or char[0] in MD_TRIM_CHARS)

    start, stop = 0, len(chars)
    while start < stop and strippable(chars[start]):
        start += 1
    while stop > start and strippable(chars[stop - 1]):
        stop -= 1
    return chars[start:stop]


def _after_blank_lines(chars: list[_Char]) -> list[_Char]:
    """Without the spaces that start a line after a blank one: Markdown writes the break
    ending a blank line as `\\`, and markdown-it skips the spaces after that break."""
    out: list[_Char] = []
    blank = True  # the line so far holds nothing but unmarked spaces and tabs
    skipping = False
    for char in chars:
        if skipping and not char[1] and char[0] in " \t":
            continue
        skipping = False
        if char[0] == "\n":
            skipping, blank = blank and bool(out), True
        else:
            blank = blank and not char[1] and char[0] in " \t"
        out.append(char)
    return out


def _nodes(chars: list[_Char]) -> list[AdfNode]:
    nodes: list[AdfNode] = []
    buffer = ""
    current: tuple[MarkKey, ...] = ()
    for char, marks in chars:
        if buffer and (char == "\n" or marks != current):
            nodes.append(text_node(buffer, current))
            buffer = ""
        if char == "\n":
            nodes.append({"type": "hardBreak"})
        else:
            buffer, current = buffer + char, marks
    if buffer:
        nodes.append(text_node(buffer, current))
    return nodes

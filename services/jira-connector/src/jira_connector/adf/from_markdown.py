"""Tether's Markdown to raw ADF nodes, from markdown-it's tokens (normalised by the caller).

markdown-it does the parsing (Tether's dialect, `tether_connector_runtime.markdown`), so what
counts as emphasis, a list or a link is what any CommonMark reader sees. Each block token pair
becomes its ADF node; inline tokens become runs of text with the marks open around them. A
line end inside a paragraph stays a line end (a hardBreak): descriptions are mostly plain
text, typed one line at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

from markdown_it.token import Token

from jira_connector.adf.inline import InlineRun
from jira_connector.adf.model import AdfNode, MarkKey, doc, paragraph, text_node
from tether_connector_runtime.markdown import PARSER

_MARK_OF_TAG = {"strong": "strong", "em": "em", "s": "strike"}


def parse_markdown(text: str) -> AdfNode:
    """The raw ADF document for a Markdown text: one node per markdown-it block, in shapes
    ADF may refuse (empty text, code with strong, a heading in a list) until normalised."""
    tokens = PARSER.parse(text)
    blocks, _ = _blocks(tokens, 0)
    return doc(blocks)


def _blocks(tokens: Sequence[Token], index: int) -> tuple[list[AdfNode], int]:
    """The blocks from ``tokens[index]`` up to the closing token of their container."""
    blocks: list[AdfNode] = []
    while index < len(tokens) and tokens[index].nesting != -1:
        node, index = _block(tokens, index)
        if node is not None:
            blocks.append(node)
    return blocks, index + 1


def _block(tokens: Sequence[Token], index: int) -> tuple[AdfNode | None, int]:
    token = tokens[index]
    kind = token.type
    if kind == "fence":
        code = token.content[:-1] if token.content.endswith("\n") else token.content
        node: AdfNode = {"type": "codeBlock", "content": [text_node(code)] if code else []}
        if token.info.strip():
            node["attrs"] = {"language": token.info.strip()}
        return node, index + 1
    if kind == "hr":
        return {"type": "rule"}, index + 1
    if kind in ("paragraph_open", "heading_open"):
        content = _inline_runs(tokens[index + 1].children or [])
        if kind == "paragraph_open":
            return paragraph(content), index + 3
        level = int(token.tag[1])
        return {"type": "heading", "attrs": {"level": level}, "content": content}, index + 3
    if token.nesting == 1:  # lists, items, quotes: containers of blocks
        children, end = _blocks(tokens, index + 1)
        return _container(token, children), end
    return None, index + 1  # nothing else is enabled in the dialect


def _container(token: Token, children: list[AdfNode]) -> AdfNode:
    if token.type == "bullet_list_open":
        return {"type": "bulletList", "content": children}
    if token.type == "ordered_list_open":
        start = token.attrGet("start")
        order = int(start) if start is not None else 1
        return {"type": "orderedList", "attrs": {"order": order}, "content": children}
    if token.type == "list_item_open":
        return {"type": "listItem", "content": children}
    return {"type": "blockquote", "content": children}


def _inline_runs(tokens: Sequence[Token]) -> list[AdfNode]:
    runs: list[InlineRun] = []
    marks: list[MarkKey] = []
    for token in tokens:
        kind = token.type
        if kind in ("text", "text_special"):
            runs.append((token.content, tuple(marks)))
        elif kind in ("softbreak", "hardbreak"):
            runs.append(("\n", ()))
        elif kind == "code_inline":
            runs.append((token.content, (*marks, ("code", None, None))))
        elif kind in ("strong_open", "em_open", "s_open"):
            marks.append((_MARK_OF_TAG[token.tag], None, None))
        elif kind == "link_open":
            title = token.attrGet("title")
            marks.append(("link", str(token.attrGet("href") or ""), str(title) if title else None))
        elif kind.endswith("_close") and marks:
            marks.pop()
        elif token.content:
            runs.append((token.content, tuple(marks)))
    return [text_node(text, marks) for text, marks in runs]

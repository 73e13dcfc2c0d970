"""Tether's Markdown, the one dialect every connector reads a description in and writes it back.

A task's description is CommonMark (plus `~~strike~~`) as markdown-it-py reads it, with the rules
that would turn plain text into something else switched off: most descriptions are plain text
typed in some provider, and they must mean the same in every connector. Off: indented code
(leading spaces are just spaces), setext headings (a line of dashes under text), raw HTML,
entities, autolinks, images, link reference definitions (they make lines vanish) and the soft
line break (it eats trailing spaces: a line end stays in the text as ``\\n``).

The helpers below write Markdown that this parser reads back as what was meant; callers check
their whole rendering against the parser anyway (escaping is tried only when needed).
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

_DISABLED = [
    "code", "lheading", "reference", "html_block",
    "html_inline", "entity", "autolink", "image", "newline",
]  # fmt: skip
# Every character that starts or ends Markdown syntax somewhere, escaped by `escape`.
_ESCAPED = re.compile(r"([\\`*_\[\]~<>#+\-!|])")
_LINE_NUMBER = re.compile(r"(^|\n)([ \t]*\d+)([.)])")
_BARE_DESTINATION = re.compile(r"[^\s<>()\\]+")
# markdown-it decodes entities in link targets and titles: `&amp;` there must be `\&amp;`.
_ENTITY_LIKE = re.compile(r"&(#?\w+);")


def _keep_url(url: str) -> str:
    # Hrefs reach the provider as written: markdown-it would percent-encode them.
    return url


def new_parser() -> MarkdownIt:
    """A markdown-it parser for Tether's dialect (see the module's docstring)."""
    parser = MarkdownIt("commonmark", {"maxNesting": 40}).enable("strikethrough")
    parser.disable(_DISABLED)
    parser.normalizeLink = _keep_url  # type: ignore[method-assign]
    parser.normalizeLinkText = _keep_url  # type: ignore[method-assign,assignment]
    return parser


PARSER = new_parser()


def escape(text: str) -> str:
    """`text` with every Markdown character backslash-escaped (and `1.` at a line start as
    `1\\.`), so that the parser reads it as that text wherever it stands."""
    escaped = _ESCAPED.sub(r"\\\1", text)
    return _LINE_NUMBER.sub(r"\1\2\\\3", escaped)


def code_span(code: str) -> str:
    """An inline code span holding `code` exactly: a fence longer than any backtick run
    inside, padded where CommonMark would strip a space or merge a backtick with the fence."""
    fence = "`" * (longest_run(code, "`") + 1)
    pad = code.startswith("`") or code.endswith("`")
    pad = pad or (code.startswith(" ") and code.endswith(" ") and bool(code.strip(" ")))
    return f"{fence} {code} {fence}" if pad else f"{fence}{code}{fence}"


def code_fence(code: str) -> str:
    """The backtick fence for a code block holding `code`: longer than any run inside."""
    return "`" * max(3, longest_run(code, "`") + 1)


def link_destination(href: str) -> str:
    """A link destination the parser reads back as `href` (bare when it can be, else `<...>`)."""
    if _BARE_DESTINATION.fullmatch(href) and not _ENTITY_LIKE.search(href):
        return href
    return "<" + re.sub(r"([<>\\&])", r"\\\1", href) + ">"


def link_title(title: str) -> str:
    """A quoted link title the parser reads back as `title`."""
    return '"' + re.sub(r'(["\\&])', r"\\\1", title) + '"'


def longest_run(text: str, char: str) -> int:
    """The length of the longest run of `char` in `text` (0 if none)."""
    runs = re.findall(re.escape(char) + "+", text)
    return max((len(run) for run in runs), default=0)

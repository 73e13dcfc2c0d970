"""Asana's `html_notes` to the shared tree, for any XML Asana or a person may send.

The stdlib parser is enough: expat (2.4 and later, bundled with every supported Python) caps
entity expansion, ElementTree never fetches external entities, and a document declaring its own
DTD is refused outright because Asana never sends one.

Whatever the tree holds must be writable as Markdown and read back the same, so the reader also
tidies: unknown tags keep their text (an `<img>` its `alt`), mentions (`<a>` with
`data-asana-*` attributes) become their visible text, emphasis gives its edge spaces to its
surroundings, and blocks Asana nests where Markdown cannot follow become text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

from asana_connector.rich_text.emphasis import EMPHASIS, strip_edges, tidy
from asana_connector.rich_text.tags import Element, Node, push, text_of
from tether_connector_runtime.markdown import PARSER

_BLANK_RUN = re.compile(r"[ \t]*\n(?:[ \t]*\n)+[ \t]*")
_DECLARATION = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
# Unknown tags that stand on lines of their own in Asana (or in HTML): their text ends one.
_LINE_TAGS = frozenset({"p", "div", "tr", "table", "object", "h3", "h4", "h5", "h6", "img"})


class InvalidHtmlNotes(ValueError):
    """`html_notes` that is not well-formed XML (or declares a DTD): Asana's own never is,
    so the caller should fall back to the plain `notes` field."""


def read_html_notes(html: str) -> list[Node]:
    """The tree for an `html_notes` document; raises `InvalidHtmlNotes`."""
    if _DECLARATION.search(html):
        raise InvalidHtmlNotes("html_notes declares a DTD")
    try:
        root = ET.fromstring(html)
        return _body(root)
    except ET.ParseError as error:
        raise InvalidHtmlNotes(f"html_notes is not well-formed XML: {error}") from error
    except RecursionError as error:
        raise InvalidHtmlNotes("html_notes is nested too deeply to read") from error


def _content(element: ET.Element) -> Iterator[str | ET.Element]:
    if element.text:
        yield element.text
    for child in element:
        yield child
        if child.tail:
            yield child.tail


def _body(root: ET.Element) -> list[Node]:
    nodes: list[Node] = []
    for part in _content(root):
        for node in [part] if isinstance(part, str) else _block(part):
            push(nodes, node)
    return tidy(nodes)


def _block(element: ET.Element) -> list[Node]:
    tag = element.tag
    if tag in ("ul", "ol", "li"):
        listed = _list(element) if tag != "li" else _list_of([element], "ul")
        return [listed] if listed.children else []
    if tag in ("h1", "h2"):
        inner = tidy(_inline(element, in_link=False))
        inner = strip_edges(_map_text(inner, lambda t: t.replace("\n", " ")))
        return [Element(tag, tuple(inner))] if inner else []
    if tag == "hr":
        return [Element("hr")]
    if tag == "pre":
        return [Element("pre", (_plain(element),))]
    if tag == "blockquote":
        inner = tidy(_inline(element, in_link=False))
        inner = strip_edges(_map_text(inner, lambda t: _BLANK_RUN.sub("\n\n", t)))
        return [Element("blockquote", tuple(inner))] if inner else []
    if _is_unknown(tag):
        return _unknown(element, _body)
    return _inline_element(element, in_link=False)


def _list(element: ET.Element) -> Element:
    items = [child for child in element if child.tag == "li"]
    strays: list[str | ET.Element] = [
        c for c in _content(element) if isinstance(c, str) and c.strip()
    ]
    strays += [c for c in element if not isinstance(c, str) and c.tag != "li"]
    return _list_of(items + [_as_item(stray) for stray in strays], str(element.tag))


def _as_item(stray: str | ET.Element) -> ET.Element:
    item = ET.Element("li")
    if isinstance(stray, str):
        item.text = stray
    else:
        item.append(stray)
    return item


def _list_of(items: list[ET.Element], tag: str) -> Element:
    out: list[Node] = []
    for item in items:
        text: list[Node] = []
        nested: list[Element] = []
        for part in _content(item):
            if not isinstance(part, str) and part.tag in ("ul", "ol"):
                nested.append(_list(part))
            else:
                for node in [part] if isinstance(part, str) else _flat(part):
                    push(text, node)
        tidied = strip_edges(_map_text(tidy(text), lambda t: _BLANK_RUN.sub("\n", t)))
        sublist = _merge_lists(nested)
        if tidied:
            out.append(Element("li", (*tidied, *([sublist] if sublist else []))))
        elif sublist:  # an item with no text of its own: its sub-items take its place
            out.extend(sublist.children)
    return Element(tag, tuple(out))


def _merge_lists(lists: list[Element]) -> Element | None:
    items = [item for listed in lists for item in listed.children]
    return Element(lists[0].tag, tuple(items)) if items else None


def _flat(element: ET.Element) -> list[Node]:
    """Inline reading of any element, blocks included (inside a list item or a link)."""
    if element.tag in ("h1", "h2", "blockquote", "pre", "ul", "ol", "li", "hr"):
        return [_plain(element)]
    return _inline_element(element, in_link=False)


def _inline(element: ET.Element, in_link: bool) -> list[Node]:
    nodes: list[Node] = []
    for part in _content(element):
        for node in [part] if isinstance(part, str) else _inline_element(part, in_link):
            push(nodes, node)
    return nodes


def _inline_element(element: ET.Element, in_link: bool) -> list[Node]:
    tag = element.tag
    if tag in EMPHASIS:
        return [Element(str(tag), tuple(_inline(element, in_link)))]
    if tag == "code":
        return [Element("code", (_plain(element).replace("\n", " "),))]
    if tag == "a":
        href = element.get("href", "")
        plain_link = set(element.keys()) == {"href"} and href and PARSER.validateLink(href)
        if plain_link and not in_link and "\n" not in href:
            return [Element("a", tuple(_inline(element, in_link=True)), href)]
        return _inline(element, in_link)  # a mention, or a link Markdown cannot write
    if tag in ("h1", "h2", "blockquote", "pre", "ul", "ol", "li", "hr"):
        return [_plain(element)]
    return _unknown(element, lambda e: _inline(e, in_link))


def _is_unknown(tag: object) -> bool:
    known = {"strong", "em", "s", "u", "code", "a", "body"}
    return tag not in known and tag not in ("h1", "h2", "hr", "pre", "blockquote")


def _unknown(element: ET.Element, read: object) -> list[Node]:
    assert callable(read)
    if element.tag == "img":
        return [element.get("alt", "") + "\n"]
    if element.tag == "br":
        return ["\n"]
    nodes: list[Node] = list(read(element))
    if element.tag in _LINE_TAGS and not text_of(nodes).endswith("\n"):
        push(nodes, "\n")
    return nodes


def _plain(element: ET.Element) -> str:
    return "".join(element.itertext())


def _map_text(nodes: list[Node], change: object) -> list[Node]:
    assert callable(change)
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, str):
            push(out, change(node))
        elif node.tag == "code":
            push(out, node)
        else:
            push(out, Element(node.tag, tuple(_map_text(list(node.children), change)), node.href))
    return out

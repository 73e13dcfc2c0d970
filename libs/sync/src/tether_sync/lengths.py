"""Text a provider cannot hold whole, shortened visibly: one definition for the connector that
writes the shortened copy and for core's merge, which must recognise that copy as core's value.

Lengths are counted in UTF-16 code units, the unit of the shortest count a provider may use (a
JavaScript or Java string length); a character beyond the BMP counts 2 and is never split.
"""

from __future__ import annotations

ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"  # one UTF-16 unit: the visible sign of a cut


def text_length(value: str) -> int:
    """``value``'s length in UTF-16 code units (a character beyond the BMP counts 2)."""
    return len(value) + sum(1 for ch in value if ord(ch) > 0xFFFF)


def shortened(value: str, limit: int) -> str:
    """``value`` if it fits in ``limit`` UTF-16 units (``limit`` >= 1), else its longest prefix
    that fits with an ellipsis after it. Never splits a character."""
    if text_length(value) <= limit:
        return value
    room = limit - text_length(ELLIPSIS)
    used = 0
    for cut, ch in enumerate(value):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            return value[:cut] + ELLIPSIS
    raise AssertionError("unreachable: the value did not fit")


def holds_as_much_as_fits(copy: object, whole: object, limit: int | None) -> bool:
    """Whether a provider's ``copy`` of a field is ``whole``, or ``whole`` shortened to the
    provider's ``limit`` (None: the provider has no limit below core's): either way it holds
    all of ``whole`` it can. Exact: a person's own text that merely ends in an ellipsis is not
    taken for a cut unless it is the very cut of ``whole`` at that limit."""
    if copy == whole:
        return True
    if limit is None or not isinstance(copy, str) or not isinstance(whole, str):
        return False
    return text_length(whole) > limit and shortened(whole, limit) == copy

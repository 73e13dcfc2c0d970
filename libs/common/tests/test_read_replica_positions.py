"""WAL positions as read-your-writes tokens, and the pins that remember them."""

from __future__ import annotations

import pytest

from tether_common.read_replica import InvalidLsn, LsnPins, format_lsn, parse_lsn


def test_positions_compare_across_the_segment_boundary_and_print_back() -> None:
    assert parse_lsn("0/FFFFFFFF") < parse_lsn("1/0") < parse_lsn("1/16B3748")
    assert format_lsn(parse_lsn("16/B374D848")) == "16/B374D848"
    assert parse_lsn(" 0/3ca5af8 ") == parse_lsn("0/3CA5AF8")


@pytest.mark.parametrize("text", ["", "0", "0/", "/1", "1/2/3", "0/G", "123456789/0", "-1/0"])
def test_anything_but_a_position_is_refused(text: str) -> None:
    with pytest.raises(InvalidLsn):
        parse_lsn(text)


def test_a_pin_only_moves_forward_and_lapses_after_its_window() -> None:
    now = [0.0]
    pins = LsnPins(30.0, clock=lambda: now[0])
    pins.note("acme", parse_lsn("0/200"))
    pins.note("acme", parse_lsn("0/100"))  # an older position noted late
    assert pins.get("acme") == parse_lsn("0/200")
    assert pins.get("globex") is None
    now[0] = 29.0
    assert pins.get("acme") == parse_lsn("0/200")
    now[0] = 31.0
    assert pins.get("acme") is None


def test_pins_are_bounded_dropping_the_oldest() -> None:
    pins = LsnPins(30.0, size=2, clock=lambda: 0.0)
    for tenant in ("a", "b", "c"):
        pins.note(tenant, 1)
    assert len(pins) == 2
    assert pins.get("a") is None
    assert pins.get("c") == 1

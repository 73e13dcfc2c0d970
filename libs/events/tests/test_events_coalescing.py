"""Planning a coalesced batch: who is delivered, where, and how far it may be acknowledged."""

from __future__ import annotations

from tether_events.coalescing import Delivery, plan_deliveries


def letter(item: str) -> str | None:
    """``a1`` has the key ``a``; items starting with ``_`` have none."""
    return None if item.startswith("_") else item[0]


def test_without_keys_every_item_is_delivered_and_acknowledged_on_its_own() -> None:
    assert plan_deliveries(["_1", "_2", "_3"], letter) == [
        Delivery("_1", 1, 1),
        Delivery("_2", 2, 1),
        Delivery("_3", 3, 1),
    ]


def test_a_key_is_delivered_once_where_its_last_item_stood() -> None:
    plan = plan_deliveries(["a1", "b1", "a2", "_x", "b2", "a3"], letter)
    assert [d.item for d in plan] == ["_x", "b2", "a3"]
    assert [d.stands_for for d in plan] == [1, 2, 3]


def test_the_acknowledged_prefix_never_passes_an_unhandled_key() -> None:
    plan = plan_deliveries(["a1", "b1", "a2", "_x", "b2", "a3"], letter)
    # After _x: a1 and b1 still wait for a3 and b2 -> nothing may be acknowledged yet.
    # After b2: a1 still waits for a3. After a3: everything.
    assert [d.done for d in plan] == [0, 0, 6]


def test_a_key_handled_early_lets_the_prefix_advance() -> None:
    plan = plan_deliveries(["a1", "a2", "b1", "b2", "c1"], letter)
    assert [(d.item, d.done) for d in plan] == [("a2", 2), ("b2", 4), ("c1", 5)]


def test_newer_of_chooses_what_a_key_delivers_but_not_where() -> None:
    def higher(older: str, newer: str) -> str:
        return max(older, newer)

    plan = plan_deliveries(["a1", "a3", "b1", "a2"], letter, higher)
    assert [(d.item, d.done) for d in plan] == [("b1", 0), ("a3", 4)]


def test_an_empty_batch_plans_nothing() -> None:
    assert plan_deliveries([], letter) == []

"""A person's edit our write overwrote before we heard of it, found from the edit's own notice.

A connector writes a field without reading the item first when the provider's notices say,
for each edit, the field, the value it set and when (Trello's actions). The write may then
land on a person's edit whose webhook has not arrived yet. Each field written keeps an
:class:`Overwrite`: the value the link's base held before (``base``), what we wrote
(``wrote``), and the window in which a person's edit would have been overwritten unseen:
after ``since`` (the provider's time up to which the base reflects the item: the last
activity of the last read) and no later than ``at`` (the provider's time of our write, from
its answer; None until the answer is known).

A notice of an edit inside that window, setting a value that is neither the base nor ours,
while the item still holds ours, is such an edit. It is published as a provider change
against the old base, so core sees it as concurrent with the edit we wrote and its policy
decides (``latest_wins`` compares the person's edit time with core's); the link's fields stay
as the item holds them (our value), its clock takes the change's event. The same notice
again, or an older one, finds nothing: the window then starts after the edit recovered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from tether_sync.fields import (
    FIELD_NAMES,
    FieldName,
    FieldValue,
    TaskFields,
    coerce_values,
    field_name,
)
from tether_sync.inbound import ProviderChange
from tether_sync.link_state import LinkState


class Overwrite(BaseModel):
    """One field we wrote over what we last knew the item to hold (see the module)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: FieldName
    base: FieldValue
    wrote: FieldValue
    since: AwareDatetime | None  # None: no read dated the base (edits of any age count)
    at: AwareDatetime | None  # None: the write's answer is not known yet (no upper bound)
    # Our earlier writes inside the window, oldest first, (value, provider time): their own
    # notices are not a person's edits.
    ours: tuple[tuple[FieldValue, AwareDatetime | None], ...] = ()

    def covers(self, edited_at: datetime) -> bool:
        """Whether an edit at ``edited_at`` (the provider's time) falls in the window."""
        if self.since is not None and edited_at <= self.since:
            return False
        return self.at is None or edited_at <= self.at

    def by_a_person(self, value: FieldValue) -> bool:
        """Whether an edit setting ``value`` inside the window can be a person's overwritten
        edit: neither the base nor a value of ours."""
        return value != self.base and value != self.wrote and all(value != v for v, _ in self.ours)

    def unlanded(self, held: FieldValue) -> bool:
        """Whether our last write here never reached the item (refused, failed, its answer
        lost and the item found without it): no answer dated it, and the field still holds
        what it held before that write (``held``: the link's base)."""
        before = self.ours[-1][0] if self.ours else self.base
        return self.at is None and held == before and held != self.wrote

    def written_instead(self, value: FieldValue) -> Overwrite:
        """The window once ``value`` is written in place of our last write, which never
        landed (:meth:`unlanded`): still open from its start, the earlier writes remembered.
        A read since then (the retry's) found the item holding the base, but that does not
        show a person's edit overwritten before it: a window started there would miss it."""
        return self.model_copy(update={"wrote": value, "at": None})

    def written_again(self, value: FieldValue) -> Overwrite:
        """The window once ``value`` is written over our own last value: still open from its
        start (an edit before our last write is overwritten by this one too), with at most
        ``MAX_OURS`` earlier writes of ours remembered. Past that it starts after the oldest
        one forgotten: an edit older than that many writes of ours would lose its conflict
        to them under ``latest_wins`` anyway."""
        ours = (*self.ours, (self.wrote, self.at))
        since = self.since
        while len(ours) > MAX_OURS:
            (_, dropped_at), ours = ours[0], ours[1:]
            if dropped_at is not None and (since is None or dropped_at > since):
                since = dropped_at
        return self.model_copy(update={"wrote": value, "at": None, "ours": ours, "since": since})


Overwrites = Mapping[FieldName, Overwrite]

# Earlier writes of ours one window remembers (Overwrite.written_again).
MAX_OURS = 8


def overwrite_from_json(raw: Mapping[str, Any]) -> Overwrite:
    """An overwrite as stored (``model_dump(mode="json")``), its values typed by field (a
    date-like title stays a string)."""
    name = field_name(str(raw["field"]))

    def typed(value: Any) -> FieldValue:
        return coerce_values({name: value})[name]

    ours = tuple((typed(v), at) for v, at in raw.get("ours", ()))
    values = {k: typed(raw[k]) for k in ("base", "wrote")}
    return Overwrite.model_validate({**raw, "field": name, **values, "ours": ours})


def before_write(
    kept: Overwrites,
    base: TaskFields,
    changes: Mapping[FieldName, FieldValue],
    seen_at: datetime | None,
) -> dict[FieldName, Overwrite]:
    """The overwrites once ``changes`` are about to be written over ``base``: a field still
    holding what we last wrote keeps its window open from where it started (an edit before
    our earlier write is overwritten by this one as well), as does one whose last write of
    ours never landed (this write takes its place); any other starts at ``seen_at``."""
    out = dict(kept)
    for name, value in changes.items():
        earlier = kept.get(name)
        if earlier is not None and earlier.wrote == base.value(name):
            out[name] = earlier.written_again(value)
        elif earlier is not None and earlier.unlanded(base.value(name)):
            out[name] = earlier.written_instead(value)
        else:
            out[name] = Overwrite(
                field=name, base=base.value(name), wrote=value, since=seen_at, at=None
            )
    return out


def written_at(
    kept: Overwrites, names: Sequence[FieldName], at: datetime
) -> dict[FieldName, Overwrite]:
    """The overwrites once the write of ``names`` was answered at ``at`` (provider time)."""
    return {n: (o.model_copy(update={"at": at}) if n in names else o) for n, o in kept.items()}


def overwritten(
    kept: Overwrites,
    edits: Mapping[FieldName, Sequence[tuple[FieldValue, datetime]]],
) -> dict[FieldName, tuple[FieldValue, datetime]]:
    """Per field, the latest edit a notice names (value, provider time) that our write may
    have overwritten unseen: inside its overwrite's window, setting neither the base nor our
    value. Whether the item still holds our value is the caller's to check (a read)."""
    found: dict[FieldName, tuple[FieldValue, datetime]] = {}
    for name, named in edits.items():
        over = kept.get(name)
        if over is None:
            continue
        inside = [(value, at) for value, at in named if over.covers(at) and over.by_a_person(value)]
        if inside:
            found[name] = max(inside, key=lambda edit: edit[1])
    return found


def decide_overwritten(
    link: LinkState,
    kept: Overwrites,
    found: Mapping[FieldName, tuple[FieldValue, datetime]],
    *,
    edited_at: datetime,
    field_limits: Mapping[FieldName, int] | None = None,
) -> ProviderChange:
    """The change publishing ``found`` (from :func:`overwritten`, each field's item checked
    to hold our value) against the overwrites' bases, dated by the edits themselves."""
    names = [n for n in FIELD_NAMES if n in found]
    limits = {n: v for n, v in (field_limits or {}).items() if n in names}
    return ProviderChange(
        task_id=link.task_id,
        link_id=link.link_id,
        replica=link.replica,
        base_clock=link.synced_clock,
        base_values={n: kept[n].base for n in names},
        new_values={n: found[n][0] for n in names},
        edited_at=edited_at,
        field_edited_at={n: found[n][1] for n in names},
        field_limits=limits,
    )


def after_overwritten(
    link: LinkState, kept: Overwrites, change: ProviderChange
) -> tuple[LinkState, dict[FieldName, Overwrite]]:
    """The link once ``change`` (from :func:`decide_overwritten`) is durably published: its
    fields stay what the item holds, its clock takes the change's event (core's answer is
    then news to it); each recovered field's window starts after the edit recovered."""
    state = link.model_copy(update={"synced_clock": link.synced_clock.merge(change.clock)})
    out = dict(kept)
    for name in change.fields:
        out[name] = kept[name].model_copy(update={"since": change.edited_at_of(name)})
    return state, out

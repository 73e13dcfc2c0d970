"""A date-only due on Trello, whose ``due`` is always an instant: written as 12:00 local time
that day in the connection owner's zone, read back as the same date in every zone and across
daylight-saving changes, while any other instant stays an instant (core's due_at)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tether_connector_runtime.due_dates import due_of, instant_of
from tether_sync import TaskFields
from trello_connector.mapping import (
    action_notice,
    card_fields,
    card_params,
    due_from_trello,
    due_to_trello,
)

AUCKLAND = ZoneInfo("Pacific/Auckland")  # UTC+13 in December (daylight saving)
KATHMANDU = ZoneInfo("Asia/Kathmandu")  # UTC+5:45
HONOLULU = ZoneInfo("Pacific/Honolulu")  # UTC-10, no daylight saving
NEW_YORK = ZoneInfo("America/New_York")  # UTC-4 in summer, UTC-5 in winter
DAYS = st.dates(date(1990, 1, 1), date(2100, 1, 1))


@pytest.mark.parametrize(
    ("zone", "written"),
    [
        (AUCKLAND, "2026-11-30T23:00:00.000Z"),
        (KATHMANDU, "2026-12-01T06:15:00.000Z"),
        (HONOLULU, "2026-12-01T22:00:00.000Z"),
        (NEW_YORK, "2026-12-01T17:00:00.000Z"),
        (ZoneInfo("UTC"), "2026-12-01T12:00:00.000Z"),
    ],
)
def test_a_date_is_written_as_noon_in_the_owners_zone_and_reads_back_as_that_date(
    zone: ZoneInfo, written: str
) -> None:
    assert due_to_trello(date(2026, 12, 1), zone) == written
    assert due_from_trello(written, zone) == date(2026, 12, 1)
    # The same text with another offset is the same instant.
    local = datetime.fromisoformat(written).astimezone(zone).isoformat()
    assert due_from_trello(local, zone) == date(2026, 12, 1)


def test_a_person_in_los_angeles_setting_5pm_gets_that_instant_not_the_next_day() -> None:
    # Dec 1, 5:00 PM in Los Angeles is Dec 2 in UTC and in Auckland; it is no one's noon here.
    for zone in (AUCKLAND, KATHMANDU, HONOLULU, NEW_YORK):
        due = due_from_trello("2026-12-02T01:00:00.000Z", zone)
        assert due == datetime(2026, 12, 2, 1, tzinfo=UTC)
    fields = card_fields({"name": "x", "due": "2026-12-02T01:00:00.000Z"}, AUCKLAND)
    assert fields.due == datetime(2026, 12, 2, 1, tzinfo=UTC)
    # An instant from core is written as itself, whatever the owner's zone.
    params = card_params({"due": fields.due}, link_id="l", zone=KATHMANDU)
    assert params["due"] == "2026-12-02T01:00:00.000Z"


def test_an_instant_at_noon_in_the_owners_zone_reads_as_that_date() -> None:
    noon_in_auckland = "2026-12-02T23:00:00.000Z"  # Dec 3, 12:00 in Auckland
    assert due_from_trello(noon_in_auckland, AUCKLAND) == date(2026, 12, 3)
    assert due_from_trello(noon_in_auckland, HONOLULU) == datetime(2026, 12, 2, 23, tzinfo=UTC)


def test_a_date_written_in_summer_reads_back_the_same_in_winter() -> None:
    # Written in July (New York at UTC-4) for a day in January (UTC-5): the day's own offset
    # decides, so it is read back the same whenever it is read, with no echo.
    july_write = due_to_trello(date(2027, 1, 15), NEW_YORK)
    assert july_write == "2027-01-15T17:00:00.000Z"
    assert due_from_trello(july_write, NEW_YORK) == date(2027, 1, 15)
    # A summer day written in winter: noon at UTC-4.
    assert due_to_trello(date(2026, 7, 4), NEW_YORK) == "2026-07-04T16:00:00.000Z"
    # Around both changes of 2026 (March 8, November 1) every day keeps its noon.
    for start in (date(2026, 3, 6), date(2026, 10, 30)):
        for n in range(5):
            day = start + timedelta(days=n)
            assert due_from_trello(due_to_trello(day, NEW_YORK), NEW_YORK) == day


def test_what_we_wrote_is_no_change_on_the_card() -> None:
    task = TaskFields(title="Plan", due=date(2026, 12, 1))
    params = card_params(task.model_dump(), link_id="l", zone=AUCKLAND)
    card = {"name": params["name"], "desc": params["desc"], "due": params["due"]}
    assert card_fields(card, AUCKLAND) == task


def test_a_webhook_action_read_before_its_connection_is_known_reads_due_in_utc() -> None:
    action = {
        "type": "updateCard",
        "date": "2026-12-01T09:30:00.000Z",
        "data": {"card": {"id": "c", "due": "2026-11-30T23:00:00.000Z"}, "old": {"due": None}},
    }
    notice = action_notice(action)
    assert notice is not None
    assert notice.field_values == {"due": datetime(2026, 11, 30, 23, tzinfo=UTC)}
    # It says so, and the runtime reads it again in the link's zones before comparing.
    assert notice.due_read_in == ZoneInfo("UTC")
    assert notice.read_in((AUCKLAND,)).field_values == {"due": date(2026, 12, 1)}
    in_auckland = action_notice(action, AUCKLAND)
    assert in_auckland is not None
    assert in_auckland.field_values == {"due": date(2026, 12, 1)}
    assert in_auckland.read_in((HONOLULU,)).field_values == {
        "due": datetime(2026, 11, 30, 23, tzinfo=UTC)
    }


def test_a_card_reads_its_due_in_the_zone_it_was_written_in_then_the_owners() -> None:
    # Written in Auckland, the owner now in Honolulu: Auckland's noon is still our date, and
    # Honolulu's noon (a person who moved with the owner setting "that day") is a date too.
    assert due_from_trello("2026-11-30T23:00:00.000Z", AUCKLAND, HONOLULU) == date(2026, 12, 1)
    assert due_from_trello("2026-12-05T22:00:00.000Z", AUCKLAND, HONOLULU) == date(2026, 12, 5)
    assert due_from_trello("2026-12-05T20:00:00.000Z", AUCKLAND, HONOLULU) == datetime(
        2026, 12, 5, 20, tzinfo=UTC
    )
    fields = card_fields({"name": "x", "due": "2026-11-30T23:00:00.000Z"}, AUCKLAND, HONOLULU)
    assert fields.due == date(2026, 12, 1)


@given(day=DAYS, zone=st.timezones())
def test_every_date_reads_back_as_itself_in_every_zone(day: date, zone: ZoneInfo) -> None:
    written = instant_of(day, zone)
    # A day with no noon (a zone that skipped the whole day) cannot be written there.
    assume(written.astimezone(zone).replace(tzinfo=None) == datetime.combine(day, time(12)))
    assert due_of(written, zone) == day
    assert written.astimezone(zone).date() == day
    text = due_to_trello(day, zone)
    assert text is not None
    assert due_from_trello(text, zone) == day


@given(
    instant=st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)),
    zone=st.timezones(),
)
def test_every_other_instant_stays_that_instant(instant: datetime, zone: ZoneInfo) -> None:
    instant = instant.replace(microsecond=instant.microsecond // 1000 * 1000)
    local = instant.astimezone(zone)
    assume((local.hour, local.minute, local.second, local.microsecond) != (12, 0, 0, 0))
    text = due_to_trello(instant, zone)
    assert text is not None
    assert due_from_trello(text, zone) == instant

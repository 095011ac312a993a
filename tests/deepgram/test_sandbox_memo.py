"""The sandbox's memo of a key's day of lines: for speed only, so it must never answer one key's
lines for another, nor lines made before a correction."""

import dataclasses
from datetime import UTC, date, datetime

from billing_portal.deepgram.sandbox.memo import DayLinesMemo
from billing_portal.deepgram.sandbox.state import Corrections, Key, Override
from billing_portal.deepgram.sandbox.synthetic import day_lines

DAY = date(2026, 11, 3)
TODAY = date(2026, 11, 20)


def _key(key_id: str = "6f1c3a52-52f1-4a57-9a1d-0b6bd3a1d001") -> Key:
    created = datetime(2026, 10, 1, tzinfo=UTC)
    return Key(key_id, "project", "memo", ("member",), created)


def _busy_day(key: Key) -> date:
    # A day the key used speech to text (about three days in four are busy).
    return next(
        date(2026, 11, n)
        for n in range(1, 20)
        if day_lines(key, date(2026, 11, n), Corrections(), TODAY)
    )


def test_a_second_ask_is_answered_from_the_memo_with_the_same_lines():
    memo, key = DayLinesMemo(), _key()
    day = _busy_day(key)
    first = memo.lines(key, day, Corrections(), TODAY)
    assert first and memo.lines(key, day, Corrections(), TODAY) is first
    assert first == day_lines(key, day, Corrections(), TODAY)


def test_a_deleted_key_is_a_new_key_and_gets_its_own_lines():
    memo, key = DayLinesMemo(), _key()
    day = _busy_day(key)
    assert memo.lines(key, day, Corrections(), TODAY)
    deleted = dataclasses.replace(key, deleted=datetime(2026, 10, 2, tzinfo=UTC))
    assert memo.lines(deleted, day, Corrections(), TODAY) == []


def test_a_correction_makes_a_new_version_and_new_lines():
    memo, key = DayLinesMemo(), _key()
    day = _busy_day(key)
    before = memo.lines(key, day, Corrections(), TODAY)
    override = Override(7, before[0].hours + 1, before[0].total_hours + 1)
    corrected = Corrections(methods={(key.api_key_id, day, before[0].method): override}, version=1)
    after = memo.lines(key, day, corrected, TODAY)
    assert after == day_lines(key, day, corrected, TODAY) and after != before


def test_the_oldest_entries_go_first_beyond_the_size():
    memo, keys = (
        DayLinesMemo(size=2),
        [_key(f"6f1c3a52-52f1-4a57-9a1d-0b6bd3a1d00{n}") for n in range(3)],
    )
    first = [memo.lines(key, DAY, Corrections(), TODAY) for key in keys]
    assert memo.lines(keys[2], DAY, Corrections(), TODAY) is first[2]
    assert memo.lines(keys[0], DAY, Corrections(), TODAY) is not first[0]  # made again

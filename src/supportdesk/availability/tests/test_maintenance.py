"""Maintenance compliance (24 h notice, 2 h at most, not emergency) and the earliest start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supportdesk.availability import (
    MaintenancePolicy,
    MaintenanceWindow,
    NaiveDatetimeError,
    Violation,
    check_window,
    earliest_compliant_start,
    is_compliant,
)
from supportdesk.availability.tests.examples import FAST

NOW = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


def proposal(notice: timedelta, length: timedelta, *, emergency: bool = False) -> MaintenanceWindow:
    return MaintenanceWindow(NOW, NOW + notice, NOW + notice + length, emergency)


def test_24_h_notice_and_2_h_is_compliant() -> None:
    verdict = check_window(proposal(24 * H, 2 * H))
    assert verdict.compliant
    assert verdict.violations == ()
    assert verdict.explain().startswith("Compliant: announced 24 h before its start")


def test_notice_of_23_h_59_min_says_the_earliest_compliant_start() -> None:
    verdict = check_window(proposal(23 * H + timedelta(minutes=59), H))
    assert verdict.violations == (Violation.SHORT_NOTICE,)
    assert verdict.earliest_compliant_start == NOW + 24 * H
    message = verdict.explain()
    assert "only 23 h 59 min before its start" in message
    assert "2026-10-02T10:00:00+00:00" in message


def test_a_second_short_is_short() -> None:
    assert not is_compliant(proposal(24 * H - timedelta(seconds=1), H))
    assert not is_compliant(proposal(24 * H - timedelta(microseconds=1), H))


def test_a_window_of_2_h_01_min_can_never_be_compliant() -> None:
    verdict = check_window(proposal(48 * H, 2 * H + timedelta(minutes=1)))
    assert verdict.violations == (Violation.TOO_LONG,)
    assert verdict.earliest_compliant_start is None
    assert "scheduled for 2 h 1 min (at most 2 h)" in verdict.explain()
    assert "can never be compliant" in verdict.explain()


def test_an_emergency_window_is_never_compliant() -> None:
    verdict = check_window(proposal(48 * H, H, emergency=True))
    assert verdict.violations == (Violation.EMERGENCY,)
    assert "emergency" in verdict.explain()
    # Without the flag the same window would be compliant from this start on.
    assert verdict.earliest_compliant_start == NOW + 24 * H


def test_every_violation_is_listed() -> None:
    verdict = check_window(proposal(-H, 3 * H, emergency=True))
    assert verdict.violations == (Violation.EMERGENCY, Violation.SHORT_NOTICE, Violation.TOO_LONG)
    assert "1 h after its start" in verdict.explain()


def test_a_reschedule_is_a_new_announcement() -> None:
    original = proposal(72 * H, H)
    assert is_compliant(original)
    # Moved a day earlier, announced two days after the first announcement: 22 h notice.
    moved = MaintenanceWindow(
        NOW + 48 * H, original.start - 24 * H, original.end - 24 * H, original.emergency
    )
    assert check_window(moved).violations == (Violation.SHORT_NOTICE,)


def test_the_policy_is_configurable() -> None:
    week_ahead = MaintenancePolicy(min_notice=7 * 24 * H, max_duration=4 * H)
    window = proposal(48 * H, 3 * H)
    assert not is_compliant(window)
    assert check_window(window, week_ahead).violations == (Violation.SHORT_NOTICE,)
    assert (
        earliest_compliant_start(announced_at=NOW, duration=3 * H, policy=week_ahead)
        == NOW + 7 * 24 * H
    )
    with pytest.raises(ValueError, match="max_duration"):
        MaintenancePolicy(max_duration=timedelta(0))


def test_the_earliest_start_is_given_in_the_window_time_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 10, 1, 20, 0, tzinfo=berlin)
    verdict = check_window(MaintenanceWindow(NOW, start, start + H))
    assert verdict.earliest_compliant_start is not None
    assert verdict.earliest_compliant_start.tzinfo is berlin
    assert verdict.earliest_compliant_start == NOW + 24 * H


def test_naive_times_and_empty_windows_are_refused() -> None:
    with pytest.raises(NaiveDatetimeError, match="no time zone"):
        MaintenanceWindow(NOW, datetime(2026, 10, 3, 10, 0), NOW + 50 * H)
    with pytest.raises(ValueError, match="not after its start"):
        MaintenanceWindow(NOW, NOW + 30 * H, NOW + 30 * H)
    with pytest.raises(ValueError, match="positive"):
        earliest_compliant_start(announced_at=NOW, duration=timedelta(0))


@FAST
@given(
    notice=st.integers(-100_000, 200_000),
    length=st.integers(1, 10_000),
    emergency=st.booleans(),
)
def test_compliance_and_earliest_start_agree(notice: int, length: int, emergency: bool) -> None:
    window = proposal(timedelta(seconds=notice), timedelta(seconds=length), emergency=emergency)
    verdict = check_window(window)
    assert verdict.compliant == (not emergency and notice >= 86_400 and length <= 7_200)
    earliest = verdict.earliest_compliant_start
    if length > 7_200:
        assert earliest is None
        return
    assert earliest is not None
    # At the earliest start the window complies; a second earlier it does not.
    duration = timedelta(seconds=length)
    assert is_compliant(MaintenanceWindow(NOW, earliest, earliest + duration))
    one_second_early = earliest - timedelta(seconds=1)
    assert not is_compliant(MaintenanceWindow(NOW, one_second_early, one_second_early + duration))

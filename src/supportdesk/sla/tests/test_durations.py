"""Business durations: the short forms, ISO 8601, and clear refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from supportdesk.sla import DurationError, duration_seconds, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("24h", 86400),
        ("90m", 5400),
        ("45s", 45),
        ("1h30m", 5400),
        ("1h30m15s", 5415),
        ("0s", 0),
        ("PT24H", 86400),
        ("PT1H30M", 5400),
        ("pt45s", 45),
        (" 72h ", 259200),
    ],
)
def test_durations_read(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("24 hours", "is not a duration"),
        ("1.5h", "is not a duration"),
        ("", "is not a duration"),
        ("h", "is not a duration"),
        ("30m1h", "is not a duration"),
        ("-1h", "is not a duration"),
        ("86400", "a bare number is ambiguous: write 86400s"),
        ("P1D", "days, weeks, months and years are not fixed amounts of business time"),
        ("P1DT2H", "days, weeks, months and years"),
    ],
)
def test_malformed_durations_are_refused_with_a_hint(text: str, hint: str) -> None:
    with pytest.raises(DurationError, match="24h, 90m, 45s, 1h30m or PT24H") as caught:
        parse_duration(text)
    assert hint in str(caught.value)


def test_format_duration_is_read_back() -> None:
    for seconds in (0, 1, 59, 60, 3600, 5415, 95400, 10**7):
        assert parse_duration(format_duration(seconds)).total_seconds() == seconds
    assert format_duration(95400) == "26h30m"


def test_targets_must_be_whole_non_negative_seconds() -> None:
    assert duration_seconds(timedelta(hours=2)) == 7200
    assert duration_seconds(7200) == 7200
    with pytest.raises(DurationError):
        duration_seconds(timedelta(seconds=-1))
    with pytest.raises(DurationError):
        duration_seconds(True)
    with pytest.raises(DurationError):
        duration_seconds(1.5)  # type: ignore[arg-type]

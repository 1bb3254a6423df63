"""Durations: every form the spec allows, and every bad one refused with a clear reason."""

from __future__ import annotations

import math

import pytest

from acuvoice.units import describe_ms, format_ms, ms_to_samples, parse_duration_ms, round_ms


@pytest.mark.parametrize(
    ("written", "ms"),
    [
        (90, 90_000),
        (2.5, 2_500),
        ("45s", 45_000),
        ("1m30s", 90_000),
        ("1.5m", 90_000),
        ("750ms", 750),
        ("1h5m", 3_900_000),
        ("90", 90_000),
        (" 2 m 3 s ", 123_000),
        ("0s", 0),
        (0, 0),
        ("6h", 6 * 3_600_000),
        ("0.0005", 1),
    ],
)
def test_durations_parse(written: object, ms: int) -> None:
    assert parse_duration_ms(written) == ms


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        (-1, "negative"),
        ("-5s", "not a duration"),
        (math.nan, "not a finite"),
        ("nan", "not a finite"),
        (math.inf, "not a finite"),
        ("7h", "longer than 6 hours"),
        (10**9, "longer than 6 hours"),
        ("1 minute", "not a duration"),
        ("5x", "not a duration"),
        ("", "not a duration"),
        (True, "expected a duration"),
        (None, "expected a duration"),
        ([1], "expected a duration"),
    ],
)
def test_bad_durations_say_why(written: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_duration_ms(written)


def test_rounding_is_half_away_from_zero() -> None:
    assert [round_ms(x) for x in (0.5, 1.5, 2.5, -0.5, 2.4999)] == [1, 2, 3, -1, 2]


def test_formatting() -> None:
    assert format_ms(754_321, precise=True) == "12:34.321"
    assert format_ms(3_723_000) == "1:02:03"
    assert describe_ms(720_000) == "12 min"
    assert describe_ms(45_000) == "45 s"
    assert describe_ms(750) == "750 ms"


def test_ms_to_samples_is_exact_at_44100() -> None:
    assert ms_to_samples(1000, 44_100) == 44_100
    assert ms_to_samples(52_000, 44_100) == 2_293_200

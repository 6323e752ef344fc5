"""The lexical forms of STIX 2.1 shared by the hub's modules (intel/stix_forms.py)."""

from __future__ import annotations

import pytest

from mamori.intel.stix_forms import format_timestamp_us, id_type, is_type_name, timestamp_us

T_US = 1_772_503_200_000_000  # 2026-03-03T02:00:00Z


@pytest.mark.parametrize(
    ("text", "max_digits", "micros"),
    [
        ("2026-03-03T02:00:00Z", None, T_US),
        ("2026-03-03T02:00:00.123Z", 3, T_US + 123_000),
        ("2026-03-03T02:00:00.1234567Z", None, T_US + 123_456),  # an instant finer than microseconds: truncated
        ("2026-03-03T02:00:00.1234567Z", 6, None),
        ("2026-03-03T02:00:00.123Z", 2, None),
        ("2026-02-29T02:00:00Z", None, None),  # 2026 is not a leap year
        ("2026-03-03T02:00:00", None, None),
        ("2026-03-03T02:00:60Z", None, None),  # leap seconds are refused, as stix2-validator does
    ],
)
def test_timestamps(text: str, max_digits: int | None, micros: int | None) -> None:
    assert timestamp_us(text, max_digits=max_digits) == micros


def test_a_timestamp_is_written_with_six_digits() -> None:
    assert format_timestamp_us(T_US + 5) == "2026-03-03T02:00:00.000005Z"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "indicator"),
        ("cryptocurrency-wallet--fcfa02bd-0b21-5d04-b220-47fb4ea9914e", "cryptocurrency-wallet"),
        ("x-acme-thing--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F", "x-acme-thing"),
        ("in--dicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", None),
        ("indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f", None),  # UUID version 0
        ("indicator--8e2e2d2b-17d4-4cbf-738f-98ee46b3cd3f", None),  # not the RFC 4122 variant
        ("ab--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", None),  # a type name has 3 characters at least
        ("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\n", None),
    ],
)
def test_identifiers_name_their_type(text: str, named: str | None) -> None:
    assert id_type(text) == named


def test_type_names() -> None:
    assert is_type_name("indicator") and is_type_name("x-mamori-wallet") and is_type_name("a" * 250)
    for bad in ("ab", "a" * 251, "Indicator", "in--dicator", "-indicator", "indicator-", "1ndicator", "ｉｎｄ"):
        assert not is_type_name(bad), bad

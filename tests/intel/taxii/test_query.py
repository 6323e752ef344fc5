"""TAXII 2.1 request filters and paging cursors (intel/taxii/query.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.errors import InputError
from mamori.intel.stix_forms import format_timestamp_us
from mamori.intel.taxii.query import DEFAULT_PAGE, Endpoint, VersionFilter, parse_query, parse_timestamp_us

INDICATOR = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
WALLET = "cryptocurrency-wallet--fcfa02bd-0b21-5d04-b220-47fb4ea9914e"  # a UUIDv5 id (OpenCTI's derivation)
T = "2026-03-03T02:00:00.000000Z"
T_US = 1_772_503_200_000_000


def query(endpoint: Endpoint = Endpoint.OBJECTS, **parameters: str | list[str]):  # type: ignore[no-untyped-def]
    given = {name: value if isinstance(value, list) else [value] for name, value in parameters.items()}
    return parse_query(given, endpoint)


def refused(endpoint: Endpoint = Endpoint.OBJECTS, **parameters: str | list[str]) -> InputError:
    with pytest.raises(InputError) as caught:
        query(endpoint, **parameters)
    assert caught.value.code == "TAXII_QUERY_INVALID"
    return caught.value


# --- timestamps -------------------------------------------------------------------------------------------------
@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)))
def test_timestamps_round_trip_and_agree_with_datetime(moment: datetime) -> None:
    micros = parse_timestamp_us(format_timestamp_us(_us(moment)), parameter="t")
    assert micros == _us(moment)
    assert format_timestamp_us(micros) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("2026-03-03T02:00:00Z", T_US),
        ("2026-03-03T02:00:00.1Z", T_US + 100_000),
        ("2026-03-03T02:00:00.123Z", T_US + 123_000),
        ("2026-03-03T02:00:00.000001Z", T_US + 1),
    ],
)
def test_timestamps_take_zero_to_six_fractional_digits(text: str, micros: int) -> None:
    assert parse_timestamp_us(text, parameter="added_after") == micros


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-03T02:00:00.0000001Z",  # finer than TAXII's microseconds
        "2026-03-03T02:00:00+00:00",  # UTC is written Z
        "2026-03-03 02:00:00Z",
        "2026-02-30T02:00:00Z",  # not a calendar day
        "2026-03-03T24:00:00Z",
        "２０２６-03-03T02:00:00Z",  # full-width digits
        "",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    assert refused(added_after=text).details["parameter"] == "added_after"


# --- filters ----------------------------------------------------------------------------------------------------
def test_defaults_are_the_last_version_the_latest_spec_and_a_page_of_the_server_s_size() -> None:
    q = query()
    assert (q.after_us, q.limit, q.ids, q.types, q.spec_versions) == (
        None,
        DEFAULT_PAGE,
        frozenset(),
        frozenset(),
        frozenset(),
    )
    assert q.versions == VersionFilter(first=False, last=True, all=False)
    assert query(Endpoint.VERSIONS).versions == VersionFilter(last=False, all=True)  # §5.8: every version


def test_filters_are_read_with_comma_separated_values() -> None:
    q = query(
        **{
            "added_after": T,
            "limit": "50",
            "match[id]": f"{INDICATOR},{WALLET}",
            "match[type]": "indicator,cryptocurrency-wallet",
            "match[version]": "first,2026-03-03T02:00:00.5Z",
            "match[spec_version]": "2.0,2.1",
        }
    )
    assert q.after_us == T_US and q.limit == 50
    assert q.ids == {INDICATOR, WALLET} and q.types == {"indicator", "cryptocurrency-wallet"}
    assert q.versions == VersionFilter(first=True, last=False, instants=frozenset({T_US + 500_000}))
    assert q.spec_versions == {"2.0", "2.1"}


def test_a_limit_above_the_server_s_page_is_lowered_and_a_bad_one_refused() -> None:
    assert query(limit="1000000").limit == 10_000
    for bad in ("0", "-1", "1.5", "ten", "١٢", ""):
        refused(limit=bad)


@pytest.mark.parametrize(
    "parameters",
    [
        {"limit": ["5", "6"]},
        {"match[type]": ["indicator", "malware"]},
        {"match[version]": "all,last"},
        {"match[version]": "last,last"},
        {"match[version]": "newest"},
        {"match[id]": "indicator--not-a-uuid"},
        {"match[id]": f"{INDICATOR}, {WALLET}"},
        {"match[type]": "Indicator"},
        {"match[type]": "in--dicator"},
        {"match[spec_version]": "2.1.0"},
        {"match[spec_version]": "２.1"},
        {"match[id]": "in--dicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
        {"match[id]": "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f"},
    ],
)
def test_malformed_filters_are_refused(parameters: dict[str, str | list[str]]) -> None:
    refused(**parameters)


def test_match_fields_an_endpoint_does_not_define_are_ignored() -> None:
    q = query(Endpoint.VERSIONS, **{"match[id]": "anything", "match[type]": "Bad Type", "match[colour]": "red"})
    assert q.ids == frozenset() and q.types == frozenset()
    assert query(Endpoint.OBJECT, **{"match[type]": "indicator"}).types == frozenset()
    delete = query(Endpoint.DELETE, **{"match[version]": "all", "limit": "nonsense", "next": "nonsense"})
    assert delete.versions.all and delete.after_us is None


# --- cursors ----------------------------------------------------------------------------------------------------
def test_a_cursor_continues_strictly_after_the_page_it_ends() -> None:
    first = query(**{"match[type]": "indicator", "limit": "2"})
    token = first.next_cursor(T_US + 7)
    following = query(**{"match[type]": "indicator", "limit": "3", "next": token})  # a client may change the limit
    assert following.after_us == T_US + 7 and following.limit == 3
    assert following.digest == first.digest


def test_a_cursor_never_goes_back_before_added_after() -> None:
    token = query(added_after=T).next_cursor(T_US + 10)
    assert query(added_after=T, next=token).after_us == T_US + 10
    early = query(added_after=T).next_cursor(T_US - 10)  # not issued for these filters in practice, still bounded
    assert query(added_after=T, next=early).after_us == T_US


def test_a_cursor_of_other_filters_or_not_issued_here_is_refused() -> None:
    token = query(**{"match[type]": "indicator"}).next_cursor(T_US)
    assert refused(**{"match[type]": "malware", "next": token}).details["parameter"] == "next"
    refused(Endpoint.MANIFEST, **{"match[type]": "indicator", "next": token})
    for forged in ("", "!!!", "bm90IGpzb24", "eyJhZnRlciI6ICIxIn0"):
        refused(next=forged)

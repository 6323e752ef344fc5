"""Release attestations: the documented token layout rebuilt by hand and checked with the raw cryptography API,
and every way a token must be refused before a signer signs: malformed, another key, altered payload or
signature, non-canonical spellings, not yet valid, expired (exact boundaries), or for another signing hash.
Arbitrary text into verify_attestation raises only MamoriError (hypothesis)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from mamori.errors import MamoriError
from mamori.guard.attestation import (
    CONTEXT,
    MAX_TTL_SECONDS,
    AttestationError,
    issue_attestation,
    verify_attestation,
)

GUARD = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"mamori test guard key").digest())
OTHER = Ed25519PrivateKey.generate()
NOW = datetime(2026, 11, 26, 3, 0, 0, tzinfo=UTC)
HASH = "0x" + "ab" * 32
KEY_ID = hashlib.sha256(GUARD.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issue(**changes: Any) -> str:
    arguments: dict[str, Any] = {
        "request_id": "wd-2026-0001",
        "chain": "eip155:1",
        "wallet": "cold-eth-1",
        "signing_hash": HASH,
        "private_key": GUARD,
        "now": NOW,
        "ttl_seconds": 300,
    }
    return issue_attestation(**{**arguments, **changes})


def payload_document(**changes: Any) -> dict[str, Any]:
    return {
        "chain": "eip155:1",
        "expires_at": "2026-11-26T03:05:00Z",
        "issued_at": "2026-11-26T03:00:00Z",
        "key_id": KEY_ID,
        "request_id": "wd-2026-0001",
        "signing_hash": HASH,
        "version": 1,
        "wallet": "cold-eth-1",
        **changes,
    }


def signed(payload: bytes, key: Ed25519PrivateKey = GUARD) -> str:
    """A token over arbitrary payload bytes, correctly signed: only the payload checks can refuse it."""
    return b64(payload) + "." + b64(key.sign(CONTEXT + payload))


def refused(token: Any, code: str = "ATTESTATION_INVALID", **kwargs: Any) -> AttestationError:
    arguments: dict[str, Any] = {"public_key": GUARD.public_key(), "now": NOW + timedelta(seconds=1), **kwargs}
    with pytest.raises(AttestationError) as caught:
        verify_attestation(token, **arguments)
    assert caught.value.code == code, caught.value
    return caught.value


def test_token_is_the_documented_layout() -> None:
    token = issue()
    expected_payload = (
        '{"chain":"eip155:1","expires_at":"2026-11-26T03:05:00Z","issued_at":"2026-11-26T03:00:00Z",'
        f'"key_id":"{KEY_ID}","request_id":"wd-2026-0001","signing_hash":"{HASH}","version":1,'
        '"wallet":"cold-eth-1"}'
    ).encode()
    first, second = token.split(".")
    assert first == b64(expected_payload)
    assert "=" not in token
    assert CONTEXT == b"mamori/guard/attestation/v1\n"
    GUARD.public_key().verify(base64.urlsafe_b64decode(second + "=="), CONTEXT + expected_payload)
    assert token == issue(), "Ed25519 is deterministic: the same release gives the same token"


def test_a_genuine_token_verifies_and_returns_what_it_binds() -> None:
    attestation = verify_attestation(issue(), public_key=GUARD.public_key(), now=NOW, expected_signing_hash=HASH)
    assert attestation.request_id == "wd-2026-0001"
    assert attestation.chain == "eip155:1"
    assert attestation.wallet == "cold-eth-1"
    assert attestation.signing_hash == HASH
    assert attestation.key_id == KEY_ID
    assert attestation.issued_at == NOW
    assert attestation.expires_at == NOW + timedelta(seconds=300)
    assert attestation.to_dict() == payload_document()


def test_issue_normalises_the_hash_and_rounds_now_down_to_the_second() -> None:
    token = issue(signing_hash=bytes.fromhex("AB" * 32), now=NOW.astimezone(timezone(timedelta(hours=9))))
    assert token == issue()
    late = issue(now=NOW + timedelta(microseconds=999_999))
    assert late == issue()


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (NOW - timedelta(microseconds=1), "ATTESTATION_NOT_YET_VALID"),
        (NOW - timedelta(hours=1), "ATTESTATION_NOT_YET_VALID"),
        (NOW, None),
        (NOW + timedelta(seconds=300) - timedelta(microseconds=1), None),
        (NOW + timedelta(seconds=300), "ATTESTATION_EXPIRED"),
        ((NOW + timedelta(seconds=300)).astimezone(timezone(timedelta(hours=9))), "ATTESTATION_EXPIRED"),
        (NOW + timedelta(days=365), "ATTESTATION_EXPIRED"),
    ],
)
def test_validity_window_boundaries(now: datetime, code: str | None) -> None:
    if code is None:
        verify_attestation(issue(), public_key=GUARD.public_key(), now=now)
    else:
        refused(issue(), code, now=now)


def test_naive_now_is_refused() -> None:
    with pytest.raises(MamoriError) as caught:
        verify_attestation(issue(), public_key=GUARD.public_key(), now=datetime(2026, 11, 26, 3, 1))  # naive on purpose
    assert caught.value.code == "FIELD_TYPE_INVALID"


@pytest.mark.parametrize("spelling", [HASH, HASH.upper().replace("0X", "0x"), HASH[2:], bytes.fromhex(HASH[2:])])
def test_expected_hash_in_any_spelling_matches(spelling: bytes | str) -> None:
    verify_attestation(issue(), public_key=GUARD.public_key(), now=NOW, expected_signing_hash=spelling)


def test_another_signing_hash_is_a_mismatch() -> None:
    error = refused(issue(), "ATTESTATION_HASH_MISMATCH", expected_signing_hash="0x" + "cd" * 32)
    assert error.details == {"attested": HASH, "expected": "0x" + "cd" * 32}
    assert "Do not sign" in error.message_en
    assert "署名しないでください" in error.message_ja


def test_a_malformed_expected_hash_is_bad_input() -> None:
    with pytest.raises(MamoriError) as caught:
        verify_attestation(issue(), public_key=GUARD.public_key(), now=NOW, expected_signing_hash="0x1234")
    assert caught.value.code == "HASH_INVALID"


def test_another_guard_key_is_refused_and_named() -> None:
    error = refused(issue(private_key=OTHER))
    assert "another guard key" in error.message_en
    error = refused(issue(), public_key=OTHER.public_key())
    assert "another guard key" in error.message_en


def test_a_payload_naming_this_key_but_signed_by_another_is_refused() -> None:
    refused(signed(orjson.dumps(payload_document(), option=orjson.OPT_SORT_KEYS), OTHER))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("chain", "eip155:10"),
        ("wallet", "hot-eth-1"),
        ("request_id", "wd-2026-0002"),
        ("signing_hash", "0x" + "cd" * 32),
        ("issued_at", "2026-11-26T02:59:59Z"),
        ("expires_at", "2026-11-26T04:00:00Z"),
        ("key_id", "00" * 32),
        ("version", 2),
    ],
)
def test_altering_any_payload_field_breaks_the_signature(name: str, value: object) -> None:
    _, signature = issue().split(".")
    altered = orjson.dumps(payload_document(**{name: value}), option=orjson.OPT_SORT_KEYS)
    refused(b64(altered) + "." + signature)


@pytest.mark.parametrize("index", [0, 20, 42, 63])
def test_altering_the_signature_is_refused(index: int) -> None:
    payload, signature = issue().split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[index] ^= 0x80
    error = refused(payload + "." + b64(bytes(raw)))
    assert "does not verify" in error.message_en


@pytest.mark.parametrize(
    "document",
    [
        payload_document(version=2),
        payload_document(version=True),
        payload_document(version="1"),
        payload_document(signing_hash=HASH.upper().replace("0X", "0x")),
        payload_document(signing_hash=HASH[:-2]),
        payload_document(key_id=KEY_ID.upper()),
        payload_document(request_id=""),
        payload_document(wallet="cold\u0000"),
        payload_document(chain=1),
        payload_document(issued_at="2026-11-26T03:00:00.000000Z"),
        payload_document(issued_at="2026-11-26T03:00:00+00:00"),
        payload_document(issued_at="2026-02-30T03:00:00Z"),
        payload_document(expires_at="2026-11-26T03:00:00Z"),  # not after issued_at
        payload_document(expires_at="2026-11-26T04:00:01Z"),  # longer than the maximum lifetime
        {**payload_document(), "extra": 1},
        {k: v for k, v in payload_document().items() if k != "wallet"},
    ],
)
def test_correctly_signed_but_invalid_payloads_are_refused(document: dict[str, Any]) -> None:
    refused(signed(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)))


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"[]",
        b"not json",
        b'{"version":1}',
        orjson.dumps(dict(reversed(payload_document().items()))),  # keys not sorted
        orjson.dumps(payload_document(), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2),  # whitespace
        orjson.dumps(payload_document(), option=orjson.OPT_SORT_KEYS).replace(b'"eip155:1"', b'"eip155\\u003a1"'),
    ],
)
def test_non_canonical_or_malformed_payloads_are_refused_even_when_signed(payload: bytes) -> None:
    refused(signed(payload))


def test_the_maximum_lifetime_is_accepted_and_not_more() -> None:
    verify_attestation(issue(ttl_seconds=MAX_TTL_SECONDS), public_key=GUARD.public_key(), now=NOW)
    for ttl in (0, -1, MAX_TTL_SECONDS + 1, True, 1.5):
        with pytest.raises(MamoriError):
            issue(ttl_seconds=ttl)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("request_id", ""),
        ("chain", "a\nb"),
        ("wallet", None),
        ("signing_hash", "0x12"),
        ("private_key", OTHER.public_key()),
        ("now", datetime(2026, 1, 1)),  # naive on purpose
        ("now", datetime(9999, 12, 31, 23, 59, tzinfo=UTC)),
    ],
)
def test_issue_refuses_bad_arguments_with_mamori_errors(name: str, value: object) -> None:
    with pytest.raises(MamoriError):
        issue(**{name: value})


def _token_variants() -> list[Any]:
    token = issue()
    payload, signature = token.split(".")
    return [
        None,
        b"bytes",
        "",
        " ",
        ".",
        "..",
        payload,
        payload + ".",
        "." + signature,
        token + "." + signature,
        token + "=",
        payload + "=." + signature,
        payload + "." + signature + "A",
        payload + "." + signature[:-1],
        payload[:-1] + "." + signature,
        payload + "." + signature[:-1] + "B",  # non-zero unused bits: another spelling of the same bytes
        payload.replace("e", "+") + "." + signature,
        token.replace(".", "\u3002"),
        "A" * 5000,
        "é" + token,
    ]


@pytest.mark.parametrize("token", _token_variants())
def test_malformed_tokens_are_refused(token: Any) -> None:
    refused(token)


def test_surrounding_whitespace_is_tolerated() -> None:
    verify_attestation("  " + issue() + "\n", public_key=GUARD.public_key(), now=NOW)


@given(st.text(max_size=600))
def test_arbitrary_text_raises_only_mamori_errors(text: str) -> None:
    with pytest.raises(MamoriError):
        verify_attestation(text, public_key=GUARD.public_key(), now=NOW)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=", max_size=300))
def test_arbitrary_base64url_text_raises_only_mamori_errors(text: str) -> None:
    with pytest.raises(MamoriError):
        verify_attestation(text, public_key=GUARD.public_key(), now=NOW)


@given(st.binary(max_size=400))
def test_arbitrary_signed_payloads_raise_only_mamori_errors(payload: bytes) -> None:
    """Payload parsing runs only after the signature holds; a signed junk payload must still be refused."""
    with pytest.raises(MamoriError):
        verify_attestation(signed(payload), public_key=GUARD.public_key(), now=NOW)


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from("AQgw_-.x="))
def test_single_character_changes_to_a_genuine_token_are_refused(position: int, replacement: str) -> None:
    token = issue()
    position %= len(token)
    if token[position] == replacement:
        return
    mutated = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(MamoriError):
        verify_attestation(mutated, public_key=GUARD.public_key(), now=NOW + timedelta(seconds=1))

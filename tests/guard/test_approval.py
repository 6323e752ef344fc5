"""Approvals: the documented digest bytes rebuilt by hand, normalisation, and every way an approval must fail:
a forged or altered approval (APPROVAL_INVALID), a genuine approval replayed onto another withdrawal or another
signing hash (APPROVAL_SUBJECT_MISMATCH), and expiry at its exact boundary (APPROVAL_EXPIRED).

The Ed25519 layer is checked against RFC 8032 §7.1 TEST 1 (the empty message), copied from the RFC text."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mamori.errors import MamoriError
from mamori.guard.approval import (
    CONTEXT,
    Approval,
    ApprovalError,
    ApprovalSubject,
    approval_digest,
    sign_approval,
    verify_approval,
)

# RFC 8032 §7.1, TEST 1: secret key, public key, empty message, signature.
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)

APPROVER = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
EXPIRES = datetime(2026, 11, 26, 3, 15, tzinfo=UTC)
POLICY = hashlib.sha256(b"policy v1").hexdigest()
SAFE_TX_HASH = "0x" + "ab" * 32
# EIP-55's own example address, in its checksummed form.
DESTINATION = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"

FIELDS: dict[str, Any] = {
    "request_id": "wd-2026-0001",
    "wallet": "cold-eth-1",
    "chain": "eip155:1",
    "asset": "ETH",
    "amount": 30_000 * 10**18,
    "destination": DESTINATION,
    "signing_hash": SAFE_TX_HASH,
    "policy_digest": POLICY,
    "expires_at": EXPIRES,
}
# For each field, another valid value: a different withdrawal that an attacker would like to release.
OTHER_VALUES: dict[str, Any] = {
    "request_id": "wd-2026-0002",
    "wallet": "hot-eth-1",
    "chain": "eip155:10",
    "asset": "USDC",
    "amount": 30_000 * 10**18 + 1,
    "destination": "0x" + "11" * 20,
    "signing_hash": "0x" + "cd" * 32,
    "policy_digest": hashlib.sha256(b"policy v2").hexdigest(),
    "expires_at": EXPIRES + timedelta(seconds=1),
}


def subject(**changes: Any) -> ApprovalSubject:
    return ApprovalSubject(**{**FIELDS, **changes})


def test_rfc8032_test_1_empty_message() -> None:
    key = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET)
    assert key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == RFC8032_PUBLIC
    assert key.sign(b"") == RFC8032_SIGNATURE
    Ed25519PublicKey.from_public_bytes(RFC8032_PUBLIC).verify(RFC8032_SIGNATURE, b"")


def test_digest_is_the_documented_bytes() -> None:
    expected_json = (
        '{"amount":"30000000000000000000000","asset":"ETH","chain":"eip155:1",'
        '"destination":"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed","expires_at":"2026-11-26T03:15:00Z",'
        f'"policy_digest":"{POLICY}","request_id":"wd-2026-0001",'
        f'"signing_hash":"{SAFE_TX_HASH}","wallet":"cold-eth-1"}}'
    ).encode()
    assert CONTEXT == b"mamori/guard/approval/v1\n"
    assert subject().canonical_json() == expected_json
    assert approval_digest(subject()) == hashlib.sha256(b"mamori/guard/approval/v1\n" + expected_json).digest()


def test_non_ascii_text_is_plain_utf8_and_microseconds_are_kept() -> None:
    s = subject(wallet="コールド", expires_at=EXPIRES + timedelta(microseconds=250_000))
    encoded = s.canonical_json()
    assert '"wallet":"コールド"'.encode() in encoded
    assert b'"expires_at":"2026-11-26T03:15:00.250000Z"' in encoded


@pytest.mark.parametrize(
    ("name", "spelling"),
    [
        ("destination", DESTINATION.lower()),
        ("destination", "  " + DESTINATION + " "),
        ("signing_hash", SAFE_TX_HASH.upper().replace("0X", "0x")),
        ("signing_hash", SAFE_TX_HASH[2:]),
        ("signing_hash", bytes.fromhex(SAFE_TX_HASH[2:])),
        ("policy_digest", POLICY.upper()),
        ("expires_at", EXPIRES.astimezone(timezone(timedelta(hours=9)))),
    ],
)
def test_spellings_of_the_same_subject_have_the_same_digest(name: str, spelling: object) -> None:
    assert subject(**{name: spelling}) == subject()
    assert approval_digest(subject(**{name: spelling})) == approval_digest(subject())


@pytest.mark.parametrize("name", list(FIELDS))
def test_every_field_is_bound_in_the_digest(name: str) -> None:
    assert approval_digest(subject(**{name: OTHER_VALUES[name]})) != approval_digest(subject())


def test_a_genuine_approval_verifies() -> None:
    approval = sign_approval(subject(), APPROVER)
    verify_approval(approval, public_key=APPROVER.public_key(), expected=subject(), now=EXPIRES - timedelta(minutes=5))


@pytest.mark.parametrize("name", list(FIELDS))
def test_altering_any_field_after_signing_is_refused(name: str) -> None:
    approval = sign_approval(subject(), APPROVER)
    altered = Approval(subject(**{name: OTHER_VALUES[name]}), approval.signature)
    with pytest.raises(ApprovalError) as caught:
        verify_approval(altered, public_key=APPROVER.public_key(), expected=altered.subject, now=EXPIRES - timedelta(1))
    assert caught.value.code == "APPROVAL_INVALID"


@pytest.mark.parametrize("index", [0, 31, 32, 63])
def test_an_altered_signature_is_refused(index: int) -> None:
    approval = sign_approval(subject(), APPROVER)
    flipped = bytearray(approval.signature)
    flipped[index] ^= 0x01
    with pytest.raises(ApprovalError) as caught:
        verify_approval(
            Approval(approval.subject, bytes(flipped)),
            public_key=APPROVER.public_key(),
            expected=subject(),
            now=EXPIRES - timedelta(1),
        )
    assert caught.value.code == "APPROVAL_INVALID"


@pytest.mark.parametrize("signature", [b"", b"\x00" * 63, b"\x00" * 65, "00" * 64])
def test_a_signature_of_the_wrong_shape_is_refused(signature: Any) -> None:
    with pytest.raises(ApprovalError) as caught:
        verify_approval(
            Approval(subject(), signature), public_key=APPROVER.public_key(), expected=subject(), now=EXPIRES
        )
    assert caught.value.code == "APPROVAL_INVALID"


def test_another_approvers_key_is_refused() -> None:
    approval = sign_approval(subject(), OTHER)
    with pytest.raises(ApprovalError) as caught:
        verify_approval(approval, public_key=APPROVER.public_key(), expected=subject(), now=EXPIRES - timedelta(1))
    assert caught.value.code == "APPROVAL_INVALID"


@pytest.mark.parametrize("name", list(FIELDS))
def test_a_genuine_approval_cannot_be_replayed_onto_another_withdrawal(name: str) -> None:
    """The approver really approved request/hash/amount… X; presenting it for Y must fail, naming the field."""
    approval_of_other = sign_approval(subject(**{name: OTHER_VALUES[name]}), APPROVER)
    with pytest.raises(ApprovalError) as caught:
        verify_approval(
            approval_of_other, public_key=APPROVER.public_key(), expected=subject(), now=EXPIRES - timedelta(1)
        )
    assert caught.value.code == "APPROVAL_SUBJECT_MISMATCH"
    assert caught.value.details["fields"] == name


def test_replay_onto_another_request_and_hash_names_both() -> None:
    approval = sign_approval(subject(request_id="wd-9", signing_hash="0x" + "00" * 32), APPROVER)
    with pytest.raises(ApprovalError) as caught:
        verify_approval(approval, public_key=APPROVER.public_key(), expected=subject(), now=EXPIRES - timedelta(1))
    assert caught.value.details["fields"] == "request_id, signing_hash"
    assert "request_id" in caught.value.message_en
    assert "request_id" in caught.value.message_ja


@pytest.mark.parametrize(
    ("now", "expired"),
    [
        (EXPIRES - timedelta(days=1), False),
        (EXPIRES - timedelta(microseconds=1), False),
        (EXPIRES, True),
        (EXPIRES + timedelta(microseconds=1), True),
        (EXPIRES.astimezone(timezone(timedelta(hours=9))), True),
        ((EXPIRES - timedelta(microseconds=1)).astimezone(timezone(timedelta(hours=-5))), False),
    ],
)
def test_expiry_boundary(now: datetime, expired: bool) -> None:
    approval = sign_approval(subject(), APPROVER)
    if not expired:
        verify_approval(approval, public_key=APPROVER.public_key(), expected=subject(), now=now)
        return
    with pytest.raises(ApprovalError) as caught:
        verify_approval(approval, public_key=APPROVER.public_key(), expected=subject(), now=now)
    assert caught.value.code == "APPROVAL_EXPIRED"
    assert caught.value.details["expires_at"] == "2026-11-26T03:15:00Z"


def test_naive_now_is_refused() -> None:
    approval = sign_approval(subject(), APPROVER)
    with pytest.raises(MamoriError) as caught:
        verify_approval(
            approval, public_key=APPROVER.public_key(), expected=subject(), now=datetime(2026, 1, 1)
        )  # naive on purpose
    assert caught.value.code == "FIELD_TYPE_INVALID"


def test_wrong_argument_types_raise_mamori_errors() -> None:
    approval = sign_approval(subject(), APPROVER)
    cases: list[dict[str, Any]] = [
        {"public_key": APPROVER, "expected": subject()},
        {"public_key": APPROVER.public_key(), "expected": FIELDS},
    ]
    for kwargs in cases:
        with pytest.raises(ApprovalError):
            verify_approval(approval, now=EXPIRES, **kwargs)
    with pytest.raises(ApprovalError):
        verify_approval(FIELDS, public_key=APPROVER.public_key(), expected=subject(), now=EXPIRES)  # type: ignore[arg-type]
    with pytest.raises(ApprovalError):
        sign_approval(subject(), APPROVER.public_key())  # type: ignore[arg-type]
    with pytest.raises(ApprovalError):
        approval_digest(FIELDS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("amount", 0),
        ("amount", -1),
        ("amount", True),
        ("amount", "1000"),
        ("amount", 1.5),
        ("request_id", ""),
        ("request_id", "wd\n1"),
        ("request_id", "wd\u202e1"),  # right-to-left override: would display as something else
        ("request_id", "\ud800"),
        ("request_id", "x" * 257),
        ("wallet", None),
        ("chain", 1),
        ("destination", "0x1234"),
        ("destination", "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),  # checksum broken: a mistyped address
        ("signing_hash", "0x" + "ab" * 31),
        ("signing_hash", "0x" + "zz" * 32),
        ("signing_hash", b"\x00" * 31),
        ("policy_digest", ""),
        ("policy_digest", "sha256:" + POLICY),
        ("expires_at", datetime(2026, 11, 26)),  # naive on purpose
        ("expires_at", "2026-11-26T03:15:00Z"),
    ],
)
def test_invalid_subjects_raise_mamori_errors(name: str, value: object) -> None:
    with pytest.raises(MamoriError):
        subject(**{name: value})


def test_subjects_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        subject().request_id = "other"  # type: ignore[misc]

"""Signed tree heads: the documented byte layout rebuilt by hand, Ed25519 checked with the raw cryptography API,
a pinned constructed vector, and every kind of tampering refused with TreeHeadError (AUDIT_TREE_HEAD_INVALID).

Constructed vector: log "mamori/test/guard", the RFC 6962 reference tree of 8 leaves (root from
tests/vectors/audit/rfc6962_vectors.json), stamped 2025-02-21T05:42:40Z, signed with the test key
sha256("mamori test audit log key"). Ed25519 (RFC 8032) is deterministic, so the signature is pinned too."""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.audit import (
    MerkleLog,
    ProofError,
    SignedTreeHead,
    TreeHead,
    TreeHeadError,
    consistency_proof,
    inclusion_proof,
    key_id,
    root_hash,
    sign_tree_head,
    verify_entry_in_head,
    verify_head_extends,
    verify_tree_head,
)
from mamori.audit.tree_head import CONTEXT
from mamori.errors import MamoriError

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "audit" / "rfc6962_vectors.json").read_text(encoding="utf-8")
)
ROOT_8 = bytes.fromhex(VECTORS["roots"][8])
KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"mamori test audit log key").digest())
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"mamori test other key").digest())
LOG = "mamori/test/guard"
WHEN = datetime(2025, 2, 21, 5, 42, 40, tzinfo=UTC)
PINNED_PUBLIC_KEY = "6d96f4917eec304509db9a7c0666e4495c793ae086995f9e246461e1c354d05f"
PINNED_SIGNATURE = (
    "8333a822909c508fa1eaba40f39ce4dcdb59cc6387960f5991bfe081bdb39d9d"
    "a7df90a5e3f224ffc73bc5afddf355d970c83cc9181a2b8ac5cce600f390eb0e"
)


def head(**changes: Any) -> TreeHead:
    fields: dict[str, Any] = {"log_id": LOG, "tree_size": 8, "root_hash": ROOT_8, "timestamp_ms": 1740116560000}
    return TreeHead(**{**fields, **changes})


def test_encoding_is_the_documented_layout() -> None:
    expected = (
        b"mamori/audit/tree-head/v1\n"
        + bytes([len(LOG)])
        + LOG.encode("ascii")
        + (1740116560000).to_bytes(8, "big")
        + (8).to_bytes(8, "big")
        + b"\x20"
        + ROOT_8
        + b"\x00\x00"
    )
    assert expected[:26] == CONTEXT
    assert TreeHead.at(LOG, 8, ROOT_8, now=WHEN) == head()
    assert head().encode() == expected
    assert TreeHead.decode(expected) == head()


def test_pinned_signature_verifies_with_the_raw_ed25519_api() -> None:
    signed = sign_tree_head(head(), KEY)
    public = KEY.public_key()
    assert public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex() == PINNED_PUBLIC_KEY
    assert signed.signature.hex() == PINNED_SIGNATURE
    assert signed.key_id == hashlib.sha256(bytes.fromhex(PINNED_PUBLIC_KEY)).digest() == key_id(public)
    public.verify(signed.signature, head().encode())  # cryptography itself, not our wrapper
    assert verify_tree_head(signed, public, log_id=LOG) == head()


def test_json_form_round_trips() -> None:
    signed = sign_tree_head(head(), KEY)
    data = json.loads(json.dumps(signed.to_dict()))
    assert data == {
        "log_id": LOG,
        "tree_size": 8,
        "timestamp_ms": 1740116560000,
        "root_hash": ROOT_8.hex(),
        "key_id": signed.key_id.hex(),
        "signature": PINNED_SIGNATURE,
    }
    assert SignedTreeHead.from_dict(data) == signed


def test_timestamp_is_a_parameter_in_milliseconds() -> None:
    jst = timezone(timedelta(hours=9))
    stamped = TreeHead.at(LOG, 0, root_hash([]), now=datetime(2025, 2, 21, 14, 42, 40, 999_999, tzinfo=jst))
    assert stamped.timestamp_ms == 1740116560999  # the same instant as WHEN, plus 999.999 ms truncated
    assert stamped.timestamp == datetime(2025, 2, 21, 5, 42, 40, 999_000, tzinfo=UTC)
    with pytest.raises(TreeHeadError, match="timezone-aware"):
        TreeHead.at(LOG, 0, root_hash([]), now=datetime(2025, 2, 21, 5, 42, 40))  # the naive case
    with pytest.raises(TreeHeadError):
        TreeHead.at(LOG, 0, root_hash([]), now=datetime(1969, 12, 31, tzinfo=UTC))


@pytest.mark.parametrize(
    "changes",
    [
        {"log_id": ""},
        {"log_id": "has space"},
        {"log_id": "-leading-dash"},
        {"log_id": "監査ログ"},
        {"log_id": "x" * 256},
        {"log_id": b"mamori"},
        {"tree_size": -1},
        {"tree_size": 2**64},
        {"tree_size": True},
        {"tree_size": 8.0},
        {"timestamp_ms": -1},
        {"timestamp_ms": "1740116560000"},
        {"root_hash": ROOT_8[:31]},
        {"root_hash": ROOT_8.hex()},
        {"root_hash": bytearray(ROOT_8)},
    ],
)
def test_malformed_heads_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(TreeHeadError) as caught:
        head(**changes)
    assert caught.value.code == "AUDIT_TREE_HEAD_INVALID"
    assert caught.value.message_en.startswith("The signed tree head is not valid")
    assert caught.value.message_ja.startswith("署名付きツリーヘッドが無効です")


def test_longest_log_id_is_accepted() -> None:
    long_id = "a" * 255
    assert TreeHead.decode(head(log_id=long_id).encode()).log_id == long_id


@pytest.mark.parametrize(
    "changes",
    [
        {"log_id": "mamori/test/guarD"},
        {"tree_size": 9},
        {"tree_size": 7},
        {"timestamp_ms": 1740116560001},
        {"root_hash": bytes.fromhex(VECTORS["roots"][7])},
    ],
)
def test_any_changed_field_breaks_the_signature(changes: dict[str, Any]) -> None:
    signed = sign_tree_head(head(), KEY)
    forged = SignedTreeHead(head(**changes), signed.key_id, signed.signature)
    with pytest.raises(TreeHeadError):
        verify_tree_head(forged, KEY.public_key(), log_id=forged.head.log_id)


def test_wrong_key_or_log_is_refused() -> None:
    signed = sign_tree_head(head(), KEY)
    with pytest.raises(TreeHeadError, match="another signing key"):
        verify_tree_head(signed, OTHER_KEY.public_key(), log_id=LOG)
    by_other = sign_tree_head(head(), OTHER_KEY)
    claimed = SignedTreeHead(by_other.head, signed.key_id, by_other.signature)  # names our key, signed by another
    with pytest.raises(TreeHeadError, match="signature does not verify"):
        verify_tree_head(claimed, KEY.public_key(), log_id=LOG)
    with pytest.raises(TreeHeadError, match="not 'mamori/test/other'"):
        verify_tree_head(signed, KEY.public_key(), log_id="mamori/test/other")
    with pytest.raises(TreeHeadError):
        verify_tree_head(signed.to_dict(), KEY.public_key(), log_id=LOG)  # type: ignore[arg-type]
    with pytest.raises(TreeHeadError):
        verify_tree_head(signed, KEY, log_id=LOG)  # type: ignore[arg-type]  # a private key where a public one goes
    with pytest.raises(TreeHeadError):
        sign_tree_head(head(), X25519PrivateKey.generate())  # type: ignore[arg-type]
    with pytest.raises(TreeHeadError):
        sign_tree_head(head().encode(), KEY)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(bit=st.integers(0, 64 * 8 - 1))
def test_any_single_bit_change_to_the_signature_fails(bit: int) -> None:
    signed = sign_tree_head(head(), KEY)
    flipped = bytearray(signed.signature)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(TreeHeadError):
        verify_tree_head(SignedTreeHead(signed.head, signed.key_id, bytes(flipped)), KEY.public_key(), log_id=LOG)


@settings(max_examples=300, deadline=None)
@given(bit=st.integers(0, len(head().encode()) * 8 - 1))
def test_any_single_bit_change_to_the_signed_bytes_fails(bit: int) -> None:
    """Flipped encoded bytes either do not parse as a head, or parse as another head the signature refuses."""
    signed = sign_tree_head(head(), KEY)
    data = bytearray(head().encode())
    data[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(TreeHeadError):
        changed = TreeHead.decode(bytes(data))
        assert changed != head()
        verify_tree_head(SignedTreeHead(changed, signed.key_id, signed.signature), KEY.public_key(), log_id=LOG)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("key_id"),
        lambda d: d.update(extra=1),
        lambda d: d.update(root_hash=d["root_hash"].upper()),
        lambda d: d.update(root_hash="0x" + d["root_hash"][2:]),
        lambda d: d.update(signature=d["signature"][:-2]),
        lambda d: d.update(tree_size="8"),
        lambda d: d.update(tree_size=True),
        lambda d: d.update(timestamp_ms=1.5),
        lambda d: d.update(log_id=None),
    ],
)
def test_json_form_is_parsed_strictly(mutate: Any) -> None:
    data = sign_tree_head(head(), KEY).to_dict()
    mutate(data)
    with pytest.raises(TreeHeadError):
        SignedTreeHead.from_dict(data)


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(
        st.dictionaries(
            st.sampled_from(["log_id", "tree_size", "timestamp_ms", "root_hash", "key_id", "signature", "x"]),
            st.one_of(st.none(), st.booleans(), st.integers(-(2**65), 2**65), st.text(max_size=130)),
        ),
        st.lists(st.integers()),
        st.text(),
    )
)
def test_arbitrary_json_only_raises_tree_head_error(data: Any) -> None:
    with contextlib.suppress(TreeHeadError):
        SignedTreeHead.from_dict(data)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=120))
def test_arbitrary_bytes_only_raise_tree_head_error(data: bytes) -> None:
    for candidate in (data, CONTEXT + data):
        try:
            decoded = TreeHead.decode(candidate)
        except TreeHeadError:
            continue
        assert decoded.encode() == candidate  # whatever parses is canonical: one head, one byte string


def test_proofs_against_signed_heads() -> None:
    leaves = [hashlib.sha256(f"entry {i}".encode()).digest() for i in range(12)]
    older = verify_tree_head(
        sign_tree_head(TreeHead.at(LOG, 5, root_hash(leaves, 5), now=WHEN), KEY), KEY.public_key(), log_id=LOG
    )
    log = MerkleLog.from_leaf_hashes(leaves)
    newer = TreeHead.at(LOG, log.size, log.root(), now=WHEN + timedelta(minutes=1))
    verify_entry_in_head(newer, leaves[3], index=3, proof=inclusion_proof(leaves, 3))
    verify_head_extends(older, newer, consistency_proof(leaves, 5))
    # The head fixes size and root together: a path for the tree of 5 does not fit the head of 12.
    with pytest.raises(ProofError):
        verify_entry_in_head(newer, leaves[3], index=3, proof=inclusion_proof(leaves, 3, 5))
    with pytest.raises(ProofError):
        verify_head_extends(older, newer, consistency_proof(leaves, 4))
    with pytest.raises(ProofError):
        verify_head_extends(newer, older, consistency_proof(leaves, 5))
    with pytest.raises(TreeHeadError, match="different logs"):
        verify_head_extends(head(log_id="mamori/test/other", tree_size=5, root_hash=older.root_hash), newer, [])


def test_head_error_is_catchable_as_the_root() -> None:
    with pytest.raises(MamoriError) as caught:
        head(tree_size=-1)
    assert caught.value.to_dict()["error"]["code"] == "AUDIT_TREE_HEAD_INVALID"

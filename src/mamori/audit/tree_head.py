"""Signed tree heads: the log's commitment, at a time, to its size and root hash, signed with Ed25519.

A tree head is what a third party keeps: with it, an inclusion proof shows an entry is in the log, and a
consistency proof shows a later head extends it (nothing was rewritten). The time is a parameter, never read
from the clock here.

Signed bytes (:meth:`TreeHead.encode`), all integers big-endian::

    context            26 bytes   b"mamori/audit/tree-head/v1\\n"
    log_id length       1 byte    1..255
    log_id              n bytes   ASCII: a letter or digit, then letters, digits and . _ : / -
    timestamp          8 bytes    uint64, milliseconds since 1970-01-01T00:00:00Z   -+
    tree_size          8 bytes    uint64                                              | RFC 9162 §4.10
    root_hash length   1 byte     32                                                  | TreeHeadDataV2
    root_hash          32 bytes   RFC 9162 Merkle tree hash (SHA-256)                 |
    extensions length  2 bytes    0 (no extensions)                                  -+

The context string separates these signatures from anything else the same key signs (release attestations,
say): no other message of the product starts with it. The log id is inside the signature so a head of one
log cannot be presented as another's; it is restricted to ASCII so that it has exactly one byte form (no
Unicode normalisation question). Every field has a fixed width or a length prefix, so the encoding is
injective: two different heads never sign the same bytes.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mamori.audit.merkle import HASH_SIZE, MAX_TREE_SIZE, AuditError, verify_consistency, verify_inclusion

CONTEXT = b"mamori/audit/tree-head/v1\n"
SIGNATURE_SIZE = 64
_LOG_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}")
_BODY = struct.Struct(">QQB32sH")  # timestamp, tree_size, root length, root, extensions length
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEX = re.compile(r"[0-9a-f]*")
_HEX_FIELDS = {"root_hash": 2 * HASH_SIZE, "key_id": 2 * HASH_SIZE, "signature": 2 * SIGNATURE_SIZE}
_DICT_KEYS = frozenset({"log_id", "tree_size", "timestamp_ms", "root_hash", "key_id", "signature"})


class TreeHeadError(AuditError):
    """A tree head that is malformed, of another log, by another key, or whose signature does not verify."""

    def __init__(self, reason: str) -> None:
        super().__init__("AUDIT_TREE_HEAD_INVALID", reason=reason)


@dataclass(frozen=True, slots=True)
class TreeHead:
    """The log ``log_id`` held ``tree_size`` entries with Merkle tree hash ``root_hash`` at ``timestamp_ms``."""

    log_id: str
    tree_size: int
    root_hash: bytes
    timestamp_ms: int

    def __post_init__(self) -> None:
        if not (isinstance(self.log_id, str) and _LOG_ID.fullmatch(self.log_id)):
            raise TreeHeadError(f"log id {self.log_id!r} is not 1-255 characters of A-Z a-z 0-9 . _ : / -")
        for name, value in (("tree size", self.tree_size), ("timestamp", self.timestamp_ms)):
            if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TREE_SIZE):
                raise TreeHeadError(f"{name} {value!r} is not an unsigned 64-bit integer")
        if type(self.root_hash) is not bytes or len(self.root_hash) != HASH_SIZE:
            raise TreeHeadError("the root hash must be 32 bytes")

    @classmethod
    def at(cls, log_id: str, tree_size: int, root_hash: bytes, *, now: datetime) -> TreeHead:
        """A head stamped ``now`` (a timezone-aware time, truncated to the millisecond)."""
        if not isinstance(now, datetime) or now.utcoffset() is None:
            raise TreeHeadError("the time must be a timezone-aware datetime")
        # Integer arithmetic on the timedelta: a float timestamp would round some milliseconds the wrong way.
        return cls(log_id, tree_size, root_hash, (now - _EPOCH) // timedelta(milliseconds=1))

    @property
    def timestamp(self) -> datetime:
        return _EPOCH + timedelta(milliseconds=self.timestamp_ms)

    def encode(self) -> bytes:
        """The exact bytes that are signed (see the module docstring)."""
        log_id = self.log_id.encode("ascii")
        body = _BODY.pack(self.timestamp_ms, self.tree_size, HASH_SIZE, self.root_hash, 0)
        return CONTEXT + bytes([len(log_id)]) + log_id + body

    @classmethod
    def decode(cls, data: bytes) -> TreeHead:
        """Parse :meth:`encode`'s output; anything else (trailing bytes included) raises :class:`TreeHeadError`."""
        if not isinstance(data, bytes) or not data.startswith(CONTEXT) or len(data) <= len(CONTEXT):
            raise TreeHeadError("the bytes are not an encoded mamori tree head")
        id_length = data[len(CONTEXT)]
        id_end = len(CONTEXT) + 1 + id_length
        if len(data) != id_end + _BODY.size:
            raise TreeHeadError("the encoded tree head has the wrong length")
        timestamp, size, root_length, root, extensions = _BODY.unpack_from(data, id_end)
        if root_length != HASH_SIZE or extensions != 0:
            raise TreeHeadError("the encoded tree head has an unsupported hash length or extensions")
        try:
            log_id = data[len(CONTEXT) + 1 : id_end].decode("ascii")
        except UnicodeDecodeError as exc:
            raise TreeHeadError("the log id is not ASCII") from exc
        return cls(log_id, size, root, timestamp)


@dataclass(frozen=True, slots=True)
class SignedTreeHead:
    """A tree head with the Ed25519 signature over its encoding and the id of the key that made it."""

    head: TreeHead
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.head, TreeHead):
            raise TreeHeadError("the head is not a TreeHead")
        if type(self.key_id) is not bytes or len(self.key_id) != HASH_SIZE:
            raise TreeHeadError("the key id must be 32 bytes")
        if type(self.signature) is not bytes or len(self.signature) != SIGNATURE_SIZE:
            raise TreeHeadError("an Ed25519 signature is 64 bytes")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: integers as numbers, hashes and the signature as lower-case hex."""
        return {
            "log_id": self.head.log_id,
            "tree_size": self.head.tree_size,
            "timestamp_ms": self.head.timestamp_ms,
            "root_hash": self.head.root_hash.hex(),
            "key_id": self.key_id.hex(),
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignedTreeHead:
        """Parse the JSON form strictly: exactly its six fields, lower-case hex, no unknown field."""
        if not isinstance(data, Mapping) or set(data) != _DICT_KEYS:
            raise TreeHeadError(f"a signed tree head has exactly the fields {', '.join(sorted(_DICT_KEYS))}")
        for name, digits in _HEX_FIELDS.items():
            value = data[name]
            if not (isinstance(value, str) and len(value) == digits and _HEX.fullmatch(value)):
                raise TreeHeadError(f"{name} is not {digits} lower-case hex digits")
        head = TreeHead(data["log_id"], data["tree_size"], bytes.fromhex(data["root_hash"]), data["timestamp_ms"])
        return cls(head, bytes.fromhex(data["key_id"]), bytes.fromhex(data["signature"]))


def key_id(public_key: Ed25519PublicKey) -> bytes:
    """SHA-256 of the raw 32-byte public key: names the key so a verifier can pick it, never proves anything."""
    if not isinstance(public_key, Ed25519PublicKey):
        raise TreeHeadError("the key is not an Ed25519 public key")
    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).digest()


def sign_tree_head(head: TreeHead, private_key: Ed25519PrivateKey) -> SignedTreeHead:
    """Sign ``head`` with the log's key (Ed25519 is deterministic: the same head and key give the same bytes)."""
    if not isinstance(head, TreeHead):
        raise TreeHeadError("only a TreeHead can be signed")
    if not isinstance(private_key, Ed25519PrivateKey):
        raise TreeHeadError("the signing key is not an Ed25519 private key")
    return SignedTreeHead(head, key_id(private_key.public_key()), private_key.sign(head.encode()))


def verify_tree_head(signed: SignedTreeHead, public_key: Ed25519PublicKey, *, log_id: str) -> TreeHead:
    """Return the head if ``public_key`` signed it for the log ``log_id``; else raise :class:`TreeHeadError`.

    The expected log id is required: a valid signature by the right key over another log's head must not
    pass as this log's.
    """
    if not isinstance(signed, SignedTreeHead):
        raise TreeHeadError("not a signed tree head")
    if signed.head.log_id != log_id:
        raise TreeHeadError(f"the head is for log {signed.head.log_id!r}, not {log_id!r}")
    if signed.key_id != key_id(public_key):
        raise TreeHeadError("the head names another signing key")
    try:
        public_key.verify(signed.signature, signed.head.encode())
    except InvalidSignature as exc:
        raise TreeHeadError("the signature does not verify") from exc
    return signed.head


def verify_entry_in_head(head: TreeHead, leaf_hash: bytes, *, index: int, proof: Sequence[bytes]) -> None:
    """Check an inclusion proof against a (verified) head, which fixes the size and root together.

    Taking both from one head closes the gap :func:`~mamori.audit.merkle.verify_inclusion` documents: a root
    hash alone does not commit to the tree size. Raises :class:`~mamori.audit.merkle.ProofError`.
    """
    verify_inclusion(leaf_hash, index=index, size=head.tree_size, proof=proof, root=head.root_hash)


def verify_head_extends(older: TreeHead, newer: TreeHead, proof: Sequence[bytes]) -> None:
    """Check that ``newer`` is ``older`` plus appended entries: same log, same prefix, nothing rewritten.

    Raises :class:`TreeHeadError` for heads of different logs and
    :class:`~mamori.audit.merkle.ProofError` when the consistency proof fails.
    """
    if older.log_id != newer.log_id:
        raise TreeHeadError(f"the heads are of different logs ({older.log_id!r}, {newer.log_id!r})")
    verify_consistency(
        first=older.tree_size,
        second=newer.tree_size,
        first_root=older.root_hash,
        second_root=newer.root_hash,
        proof=proof,
    )

"""A withdrawal request from the exchange's system of record, and the check of its Ed25519 signature.

The ledger signs the intent (who, from which wallet, what, how much, to whom); the transaction to be signed is
attached afterwards and compared with that intent by the evaluator. The signed payload is the canonical JSON
(sorted keys, no spaces, UTF-8) of the fields in :data:`SIGNED_FIELDS`, exactly as they appear in the request.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mamori.chains.bitcoin.psbt import decode_psbt_text
from mamori.chains.evm.encoding import parse_hex, parse_uint
from mamori.errors import InputError, MamoriError
from mamori.policy.facts import normalise_address

SIGNED_FIELDS = ("request_id", "created_at", "initiator", "wallet", "chain", "asset", "amount", "destination")


@dataclass(frozen=True, slots=True)
class RequestSignature:
    key_id: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class AttachedTransaction:
    """The exact transaction to be signed: a Safe Transaction Service record, a raw EVM transaction or a PSBT."""

    kind: str  # "safe", "evm" or "psbt"
    record: Mapping[str, Any] | None = None
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class WithdrawalRequest:
    request_id: str
    created_at: datetime
    initiator: str
    wallet: str
    chain: str
    asset: str
    amount: int
    destination: str
    signed_payload: bytes
    signature: RequestSignature | None = None
    transaction: AttachedTransaction | None = None


def parse_request(document: object) -> WithdrawalRequest:
    """Validate a request document (JSON object) into a frozen request; raises InputError with the field."""
    if not isinstance(document, Mapping):
        raise InputError("RECORD_SHAPE_INVALID", reason="a withdrawal request must be a JSON object")
    texts: dict[str, str] = {}
    for name in SIGNED_FIELDS:
        value = document.get(name)
        if name == "amount" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise InputError(
                "FIELD_MISSING" if value is None else "FIELD_TYPE_INVALID", field=name, expected="a non-empty string"
            )
        texts[name] = value
    amount = parse_uint(texts["amount"], field="amount")
    if amount == 0:
        raise InputError("INTEGER_INVALID", field="amount", reason="a withdrawal moves a positive amount")
    try:
        # Compared in normalised form everywhere (address book, screening, the transaction's destination).
        destination = normalise_address(texts["chain"], texts["destination"])
    except MamoriError as exc:
        raise InputError("REQUEST_INVALID", reason=f"destination: {exc.message_en}") from exc
    return WithdrawalRequest(
        request_id=texts["request_id"],
        created_at=parse_timestamp(texts["created_at"], field="created_at"),
        initiator=texts["initiator"],
        wallet=texts["wallet"],
        chain=texts["chain"],
        asset=texts["asset"],
        amount=amount,
        destination=destination,
        signed_payload=_canonical(texts),
        signature=_parse_signature(document.get("signature")),
        transaction=_parse_transaction(document.get("transaction")),
    )


def _canonical(texts: Mapping[str, str]) -> bytes:
    try:
        return orjson.dumps(dict(texts), option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:  # a lone surrogate cannot be encoded as UTF-8
        raise InputError("REQUEST_INVALID", reason="a signed field is not valid Unicode text") from exc


def signing_payload(fields: Mapping[str, str]) -> bytes:
    """What the system of record signs: canonical JSON of the signed fields (for ledgers and tests)."""
    return orjson.dumps({name: fields[name] for name in SIGNED_FIELDS}, option=orjson.OPT_SORT_KEYS)


def parse_timestamp(value: object, *, field: str) -> datetime:
    if not isinstance(value, str):
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="an ISO 8601 timestamp with a time zone")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="an ISO 8601 timestamp") from exc
    if moment.tzinfo is None:
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="a timestamp with a time zone (e.g. Z)")
    try:
        moment.astimezone(UTC)  # 0001-01-01T00:00+14:00 has no UTC time: every comparison with it would fail
    except OverflowError as exc:
        raise InputError(
            "FIELD_TYPE_INVALID", field=field, expected="a timestamp between years 1 and 9999 in UTC"
        ) from exc
    return moment


def decode_key_or_signature(text: str, *, field: str, size: int) -> bytes:
    """Hex (with or without 0x) or standard base64."""
    raw: bytes | None = None
    stripped = text.strip()
    if len(stripped) in (2 * size, 2 * size + 2):
        raw = parse_hex(stripped, field=field)
    else:
        try:
            raw = base64.b64decode(stripped, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InputError("FIELD_TYPE_INVALID", field=field, expected=f"{size} bytes in hex or base64") from exc
    if len(raw) != size:
        raise InputError("FIELD_TYPE_INVALID", field=field, expected=f"{size} bytes in hex or base64")
    return raw


def signature_problem(request: WithdrawalRequest, keys: Mapping[str, bytes]) -> tuple[str, str] | None:
    """``None`` when the request is signed by one of ``keys`` (id -> raw Ed25519 public key); otherwise the
    reason code and the key id concerned. Never a bare bool: a caller cannot forget to look at the reason."""
    if request.signature is None:
        return "REQUEST_UNSIGNED", ""
    key_id = request.signature.key_id
    public_key = keys.get(key_id)
    if public_key is None:
        return "REQUEST_KEY_UNKNOWN", key_id
    if not _signature_verifies(public_key, request.signature.signature, request.signed_payload):
        return "REQUEST_SIGNATURE_INVALID", key_id
    if not _payload_describes(request):
        # The signature is over the payload as written; a request whose fields were changed afterwards
        # (dataclasses.replace, a bug, an attacker with memory access) no longer says what was signed.
        return "REQUEST_SIGNATURE_INVALID", key_id
    return None


@lru_cache(maxsize=4096)
def _signature_verifies(public_key: bytes, signature: bytes, payload: bytes) -> bool:
    """Ed25519 verification, remembered: the guard checks a request's signature on arrival and the evaluator checks
    it again under the decision lock; the answer for the same (key, signature, payload) bytes cannot change."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, payload)
    except (InvalidSignature, ValueError):
        return False
    return True


def _payload_describes(request: WithdrawalRequest) -> bool:
    try:
        signed = orjson.loads(request.signed_payload)
        return bool(
            all(
                signed[name] == getattr(request, name)
                for name in ("request_id", "initiator", "wallet", "chain", "asset")
            )
            and parse_uint(signed["amount"], field="amount") == request.amount
            and parse_timestamp(signed["created_at"], field="created_at") == request.created_at
            and normalise_address(signed["chain"], signed["destination"]) == request.destination
        )
    except (MamoriError, KeyError, TypeError, orjson.JSONDecodeError):
        return False


def _parse_signature(value: object) -> RequestSignature | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("key_id"), str):
        raise InputError("FIELD_TYPE_INVALID", field="signature", expected='{"key_id": …, "ed25519": …}')
    raw = value.get("ed25519")
    if not isinstance(raw, str):
        raise InputError("FIELD_TYPE_INVALID", field="signature.ed25519", expected="a signature in hex or base64")
    return RequestSignature(value["key_id"], decode_key_or_signature(raw, field="signature.ed25519", size=64))


def _parse_transaction(value: object) -> AttachedTransaction | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InputError("FIELD_TYPE_INVALID", field="transaction", expected="an object")
    kind = value.get("kind")
    if kind == "safe":
        record = value.get("record")
        if not isinstance(record, Mapping):
            raise InputError("FIELD_TYPE_INVALID", field="transaction.record", expected="a Safe record object")
        return AttachedTransaction("safe", record=record)
    if kind == "evm":
        return AttachedTransaction("evm", raw=parse_hex(value.get("raw"), field="transaction.raw"))
    if kind == "psbt":
        text = value.get("psbt")
        if not isinstance(text, str):
            raise InputError("FIELD_TYPE_INVALID", field="transaction.psbt", expected="a PSBT in base64 or hex")
        return AttachedTransaction("psbt", raw=decode_psbt_text(text))
    raise InputError("FIELD_TYPE_INVALID", field="transaction.kind", expected='"safe", "evm" or "psbt"')

"""Raw Ethereum transactions: legacy (pre- and post-EIP-155), EIP-2930, EIP-1559 and EIP-7702, signed or not.

``decode_transaction`` parses the bytes a signer is about to sign (or has signed) and derives what they commit
to: the signing hash, the transaction hash, the sender, and for EIP-7702 the authority behind every
authorization. Malformed bytes raise :class:`~mamori.errors.DecodeError`; a well-formed but invalid signature
is not an exception but a value (``signature_error``), so the verifier can report it as a finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from mamori.chains.evm import rlp
from mamori.chains.evm.crypto import SECP256K1_HALF_N, keccak256, recover_address
from mamori.chains.evm.encoding import parse_hex
from mamori.errors import DecodeError

LEGACY, ACCESS_LIST, DYNAMIC_FEE, SET_CODE = 0, 1, 2, 4
TYPE_NAMES = {LEGACY: "legacy", ACCESS_LIST: "eip2930", DYNAMIC_FEE: "eip1559", SET_CODE: "eip7702"}
AUTHORIZATION_MAGIC = b"\x05"  # EIP-7702: authorities sign keccak(0x05 || rlp([chain_id, address, nonce]))
UINT64_MAX = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class AccessListEntry:
    address: bytes
    storage_keys: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class TxSignature:
    """The signature as encoded: ``v`` is the legacy field (27/28 or EIP-155), ``y_parity`` the recovery id."""

    v: int
    y_parity: int
    r: int
    s: int


@dataclass(frozen=True, slots=True)
class Authorization:
    """One EIP-7702 tuple; ``authority`` is None (and ``error`` says why) when no valid signer recovers."""

    chain_id: int
    address: bytes
    nonce: int
    y_parity: int
    r: int
    s: int
    signing_hash: bytes
    authority: bytes | None
    error: str | None

    @property
    def valid(self) -> bool:
        return self.authority is not None


@dataclass(frozen=True, slots=True)
class EvmTransaction:
    """A decoded transaction. ``to`` is None for a contract creation, ``chain_id`` None before EIP-155.

    ``sender`` is None when the transaction is unsigned or its signature is invalid; ``signature_error`` tells
    the two apart.
    """

    tx_type: int
    chain_id: int | None
    nonce: int
    gas_limit: int
    to: bytes | None
    value: int
    data: bytes
    gas_price: int | None
    max_fee_per_gas: int | None
    max_priority_fee_per_gas: int | None
    access_list: tuple[AccessListEntry, ...]
    authorization_list: tuple[Authorization, ...]
    signature: TxSignature | None
    signing_hash: bytes
    tx_hash: bytes | None
    sender: bytes | None
    signature_error: str | None

    @property
    def type_name(self) -> str:
        return TYPE_NAMES[self.tx_type]

    @property
    def signed(self) -> bool:
        return self.signature is not None


def raw_transaction_bytes(raw: bytes | str) -> bytes:
    """The transaction bytes: binary input as it is, text as hex (``0x`` optional, surrounding whitespace ok).

    Bytes are never reinterpreted as hex text: bytes that happen to spell hex digits are a (type 0x30+, so
    invalid) binary transaction, not a second encoding to unwrap.
    """
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, bytes):
        return raw
    return parse_hex(raw.strip(), field="transaction")


def decode_transaction(raw: bytes | str) -> EvmTransaction:
    """Decode a raw transaction (binary, or hex text with or without ``0x``)."""
    data = raw_transaction_bytes(raw)
    if not data:
        raise DecodeError("RLP_INVALID", reason="empty input")
    first = data[0]
    if first >= 0xC0:
        return _decode_legacy(data)
    if first >= 0x80:
        raise DecodeError("RLP_INVALID", reason="a legacy transaction must be an RLP list")
    if first not in (ACCESS_LIST, DYNAMIC_FEE, SET_CODE):
        raise DecodeError("TX_TYPE_UNSUPPORTED", tx_type=first)
    return _decode_typed(first, data)


def authorization_signing_hash(chain_id: int, address: bytes, nonce: int) -> bytes:
    encoded = rlp.encode([rlp.encode_uint(chain_id), address, rlp.encode_uint(nonce)])
    return keccak256(AUTHORIZATION_MAGIC + encoded)


def _decode_legacy(data: bytes) -> EvmTransaction:
    items = _as_list(rlp.decode(data), "transaction")
    if len(items) not in (6, 9):
        raise DecodeError("TX_FIELDS_INVALID", reason=f"a legacy transaction has 6 or 9 fields, not {len(items)}")
    gas_price = rlp.decode_uint(items[1], field="gas_price")
    nonce, gas_limit, to, value, payload = _call_fields(items[0], *items[2:6])
    signature: TxSignature | None = None
    chain_id: int | None = None
    if len(items) == 9:
        v = rlp.decode_uint(items[6], field="v")
        r = rlp.decode_uint(items[7], field="r")
        s = rlp.decode_uint(items[8], field="s")
        if r == 0 and s == 0:
            # The EIP-155 form of an unsigned transaction: [..., chainId, 0, 0].
            if v == 0:
                raise DecodeError("TX_FIELDS_INVALID", reason="unsigned EIP-155 form needs a chain id above 0")
            chain_id = _check_chain_id(v)
        else:
            chain_id, y_parity = _legacy_v(v)
            signature = TxSignature(v, y_parity, r, s)
    unsigned = items[:6] if chain_id is None else [*items[:6], rlp.encode_uint(chain_id), b"", b""]
    signing_hash = keccak256(rlp.encode(unsigned))
    sender, error = _recover(signing_hash, signature)
    return EvmTransaction(
        tx_type=LEGACY,
        chain_id=chain_id,
        nonce=nonce,
        gas_limit=gas_limit,
        to=to,
        value=value,
        data=payload,
        gas_price=gas_price,
        max_fee_per_gas=None,
        max_priority_fee_per_gas=None,
        access_list=(),
        authorization_list=(),
        signature=signature,
        signing_hash=signing_hash,
        tx_hash=keccak256(data) if signature else None,
        sender=sender,
        signature_error=error,
    )


def _legacy_v(v: int) -> tuple[int | None, int]:
    """(chain id or None, y parity) from a signed legacy ``v``: 27/28, or 35 + 2*chainId + parity (EIP-155)."""
    if v in (27, 28):
        return None, v - 27
    if v >= 35:
        return _check_chain_id((v - 35) // 2), (v - 35) % 2
    raise DecodeError(
        "SIGNATURE_ENCODING_INVALID",
        reason=f"legacy v={v} is neither 27/28 nor EIP-155 (35 + 2*chainId + 0/1)",
    )


def _decode_typed(tx_type: int, data: bytes) -> EvmTransaction:
    items = _as_list(rlp.decode(data[1:]), "transaction payload")
    unsigned_count = {ACCESS_LIST: 8, DYNAMIC_FEE: 9, SET_CODE: 10}[tx_type]
    if len(items) not in (unsigned_count, unsigned_count + 3):
        raise DecodeError(
            "TX_FIELDS_INVALID",
            reason=f"a type 0x{tx_type:02x} transaction has {unsigned_count} fields unsigned or "
            f"{unsigned_count + 3} signed, not {len(items)}",
        )
    chain_id = _check_chain_id(rlp.decode_uint(items[0], field="chain_id"))
    gas_price = max_fee = max_priority_fee = None
    if tx_type == ACCESS_LIST:
        gas_price = rlp.decode_uint(items[2], field="gas_price")
        nonce, gas_limit, to, value, payload = _call_fields(items[1], *items[3:7])
        access_list = _access_list(items[7])
    else:
        max_priority_fee = rlp.decode_uint(items[2], field="max_priority_fee_per_gas")
        max_fee = rlp.decode_uint(items[3], field="max_fee_per_gas")
        nonce, gas_limit, to, value, payload = _call_fields(items[1], *items[4:8])
        access_list = _access_list(items[8])
    authorizations: tuple[Authorization, ...] = ()
    if tx_type == SET_CODE:
        if to is None:
            raise DecodeError("TX_FIELDS_INVALID", reason="an EIP-7702 transaction cannot create a contract")
        authorizations = _authorization_list(items[9])
    signature: TxSignature | None = None
    if len(items) > unsigned_count:
        y_parity = rlp.decode_uint(items[unsigned_count], field="y_parity", bits=8)
        r = rlp.decode_uint(items[unsigned_count + 1], field="r")
        s = rlp.decode_uint(items[unsigned_count + 2], field="s")
        signature = TxSignature(y_parity, y_parity, r, s)
    signing_hash = keccak256(bytes((tx_type,)) + rlp.encode(items[:unsigned_count]))
    sender, error = _recover(signing_hash, signature)
    return EvmTransaction(
        tx_type=tx_type,
        chain_id=chain_id,
        nonce=nonce,
        gas_limit=gas_limit,
        to=to,
        value=value,
        data=payload,
        gas_price=gas_price,
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=max_priority_fee,
        access_list=access_list,
        authorization_list=authorizations,
        signature=signature,
        signing_hash=signing_hash,
        tx_hash=keccak256(data) if signature else None,
        sender=sender,
        signature_error=error,
    )


def _call_fields(
    nonce_item: rlp.RlpItem,
    gas_item: rlp.RlpItem,
    to_item: rlp.RlpItem,
    value_item: rlp.RlpItem,
    data_item: rlp.RlpItem,
) -> tuple[int, int, bytes | None, int, bytes]:
    """nonce, gas limit, to (None creates a contract), value and data: the fields every type shares."""
    nonce = rlp.decode_uint(nonce_item, field="nonce", bits=64)
    gas_limit = rlp.decode_uint(gas_item, field="gas_limit", bits=64)
    to = _as_bytes(to_item, "to")
    if to and len(to) != 20:
        raise DecodeError("TX_FIELDS_INVALID", reason=f"to is {len(to)} bytes, not 20 (or empty to create)")
    value = rlp.decode_uint(value_item, field="value")
    return nonce, gas_limit, to or None, value, _as_bytes(data_item, "data")


def _check_chain_id(chain_id: int) -> int:
    if chain_id > UINT64_MAX:
        raise DecodeError("TX_FIELDS_INVALID", reason="chain id does not fit in 64 bits")
    return chain_id


def _access_list(item: rlp.RlpItem) -> tuple[AccessListEntry, ...]:
    entries = []
    for index, raw_entry in enumerate(_as_list(item, "access_list")):
        where = f"access_list[{index}]"
        entry = _as_list(raw_entry, where)
        if len(entry) != 2:
            raise DecodeError("TX_FIELDS_INVALID", reason=f"{where} must be [address, storage_keys]")
        address = _fixed(entry[0], 20, f"{where}.address")
        keys = tuple(_fixed(key, 32, f"{where}.storage_keys[{i}]") for i, key in enumerate(_as_list(entry[1], where)))
        entries.append(AccessListEntry(address, keys))
    return tuple(entries)


def _authorization_list(item: rlp.RlpItem) -> tuple[Authorization, ...]:
    tuples = _as_list(item, "authorization_list")
    if not tuples:
        raise DecodeError("TX_FIELDS_INVALID", reason="EIP-7702 makes a transaction with no authorization invalid")
    return tuple(_authorization(raw, f"authorization_list[{i}]") for i, raw in enumerate(tuples))


def _authorization(item: rlp.RlpItem, where: str) -> Authorization:
    fields = _as_list(item, where)
    if len(fields) != 6:
        raise DecodeError("TX_FIELDS_INVALID", reason=f"{where} must be [chain_id, address, nonce, y_parity, r, s]")
    # Bounds from EIP-7702: anything outside them makes the whole transaction invalid.
    chain_id = rlp.decode_uint(fields[0], field=f"{where}.chain_id")
    address = _fixed(fields[1], 20, f"{where}.address")
    nonce = rlp.decode_uint(fields[2], field=f"{where}.nonce", bits=64)
    y_parity = rlp.decode_uint(fields[3], field=f"{where}.y_parity", bits=8)
    r = rlp.decode_uint(fields[4], field=f"{where}.r")
    s = rlp.decode_uint(fields[5], field=f"{where}.s")
    digest = authorization_signing_hash(chain_id, address, nonce)
    authority: bytes | None = None
    error: str | None
    if nonce == UINT64_MAX:
        # Within the bounds but skipped by every client: the authority's nonce could never be incremented.
        error = "nonce 2**64-1 can never be used"
    else:
        authority, error = _recover(digest, TxSignature(y_parity, y_parity, r, s))
    return Authorization(chain_id, address, nonce, y_parity, r, s, digest, authority, error)


def _recover(digest: bytes, signature: TxSignature | None) -> tuple[bytes | None, str | None]:
    """(signer, None) or (None, why not); (None, None) when there is no signature."""
    if signature is None:
        return None, None
    if signature.y_parity not in (0, 1):
        return None, f"y parity {signature.y_parity} is not 0 or 1"
    if signature.s > SECP256K1_HALF_N:
        return None, "s is in the upper half of the curve order, which EIP-2 forbids"
    try:
        return recover_address(digest, signature.y_parity, signature.r, signature.s), None
    except DecodeError as exc:
        return None, str(exc.details.get("reason", exc.code))


def _as_list(item: rlp.RlpItem, field: str) -> list[rlp.RlpItem]:
    if not isinstance(item, list):
        raise DecodeError("TX_FIELDS_INVALID", reason=f"{field} must be a list")
    return item


def _as_bytes(item: rlp.RlpItem, field: str) -> bytes:
    if not isinstance(item, bytes):
        raise DecodeError("TX_FIELDS_INVALID", reason=f"{field} must be a byte string, not a list")
    return item


def _fixed(item: rlp.RlpItem, size: int, field: str) -> bytes:
    raw = _as_bytes(item, field)
    if len(raw) != size:
        raise DecodeError("TX_FIELDS_INVALID", reason=f"{field} is {len(raw)} bytes, not {size}")
    return raw

"""Transaction decoding: published vectors, field validation, and differential tests against eth-account."""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
import rlp as pyrlp
from eth_account import Account
from eth_account._utils.legacy_transactions import Transaction
from eth_account._utils.signing import hash_of_signed_transaction
from eth_account.typed_transactions import TypedTransaction
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.chains.evm import rlp
from mamori.chains.evm.crypto import SECP256K1_N, keccak256, recover_address
from mamori.chains.evm.transaction import (
    UINT64_MAX,
    EvmTransaction,
    authorization_signing_hash,
    decode_transaction,
    raw_transaction_bytes,
)
from mamori.errors import DecodeError, MamoriError

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "evm" / "published_vectors.json").read_text("utf-8"))
KEY = "0x" + "4f" * 32
ADDRESS = bytes.fromhex(Account.from_key(KEY).address[2:])
TO = "0x" + "35" * 20


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def _sign(tx: dict[str, Any], key: str = KEY) -> bytes:
    return bytes(Account.sign_transaction(tx, key).raw_transaction)


def _error(raw: bytes | str) -> DecodeError:
    with pytest.raises(DecodeError) as exc:
        decode_transaction(raw)
    return exc.value


def _typed(tx_type: int, fields: list[Any]) -> bytes:
    return bytes((tx_type,)) + pyrlp.encode(fields)


def _eip1559(**overrides: Any) -> dict[str, Any]:
    tx = {"type": 2, "chainId": 1, "nonce": 7, "maxFeePerGas": 30 * 10**9, "maxPriorityFeePerGas": 10**9,
          "gas": 60_000, "to": TO, "value": 5, "data": "0x", "accessList": []}  # fmt: skip
    tx.update(overrides)
    return tx


def _set_code(authorizations: list[Any], **overrides: Any) -> dict[str, Any]:
    return _eip1559(type=4, authorizationList=authorizations, **overrides)


def _fields(raw: bytes) -> list[Any]:
    """The payload's RLP list decoded by pyrlp (an independent decoder), to build altered variants."""
    return list(pyrlp.decode(raw[1:] if raw[0] < 0x80 else raw))


# --- published vectors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS["transactions"], ids=lambda v: v["id"])
def test_published_transactions(vector: dict[str, Any]) -> None:
    assert vector["provenance"]["source"]["repo"]
    tx = decode_transaction(vector["raw"])
    expected = vector["expected"]
    assert tx.type_name == expected["type"]
    assert tx.chain_id == expected["chain_id"]
    assert tx.sender is not None
    assert "0x" + tx.sender.hex() == expected["sender"].lower()
    assert tx.tx_hash == keccak256(_hex(vector["raw"]))
    checks = {
        "tx_hash": lambda: "0x" + (tx.tx_hash or b"").hex(),
        "signing_hash": lambda: "0x" + tx.signing_hash.hex(),
        "nonce": lambda: tx.nonce,
        "to": lambda: "0x" + (tx.to or b"").hex(),
        "value": lambda: str(tx.value),
        "data": lambda: "0x" + tx.data.hex(),
        "gas_limit": lambda: str(tx.gas_limit),
        "gas_price": lambda: str(tx.gas_price),
        "max_fee_per_gas": lambda: str(tx.max_fee_per_gas),
        "max_priority_fee_per_gas": lambda: str(tx.max_priority_fee_per_gas),
        "v": lambda: tx.signature and tx.signature.v,
        "r": lambda: tx.signature and str(tx.signature.r),
        "s": lambda: tx.signature and str(tx.signature.s),
        "signing_payload": lambda: "0x" + rlp.encode([*_fields(_hex(vector["raw"]))[:6], b"\x01", b"", b""]).hex(),
    }
    for key, actual in checks.items():
        if key in expected:
            assert actual() == (expected[key].lower() if isinstance(expected[key], str) else expected[key]), key
    for auth, want in zip(tx.authorization_list, expected.get("authorizations", []), strict=True):
        assert (auth.chain_id, "0x" + auth.address.hex(), auth.nonce) == (
            want["chain_id"], want["address"].lower(), want["nonce"],
        )  # fmt: skip
        assert auth.authority is not None and "0x" + auth.authority.hex() == want["authority"].lower()


@pytest.mark.parametrize("vector", VECTORS["authorizations"], ids=lambda v: v["id"])
def test_published_authorization(vector: dict[str, Any]) -> None:
    digest = authorization_signing_hash(vector["chain_id"], _hex(vector["address"]), vector["nonce"])
    assert "0x" + digest.hex() == vector["signing_hash"]
    authority = recover_address(digest, vector["y_parity"], int(vector["r"]), int(vector["s"]))
    assert "0x" + authority.hex() == vector["authority"].lower()


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["id"])
def test_published_invalid_transactions(vector: dict[str, Any]) -> None:
    if vector.get("signature_error_expected"):
        tx = decode_transaction(vector["raw"])
        assert tx.sender is None and tx.signature_error
        return
    assert _error(vector["raw"]).code == vector["error"]


# --- input forms ----------------------------------------------------------------------------------------

EIP155_RAW = VECTORS["transactions"][0]["raw"]


@pytest.mark.parametrize(
    "form",
    [
        EIP155_RAW,
        EIP155_RAW[2:],
        EIP155_RAW.upper().replace("0X", "0x"),
        f"  {EIP155_RAW}\n",
        _hex(EIP155_RAW),
    ],
)
def test_accepts_binary_and_pasted_hex(form: bytes | str) -> None:
    assert raw_transaction_bytes(form) == _hex(EIP155_RAW)
    assert decode_transaction(form).signing_hash.hex() == VECTORS["transactions"][0]["expected"]["signing_hash"][2:]


@pytest.mark.parametrize(("text", "code"), [("0xf86", "HEX_INVALID"), ("0xzz", "HEX_INVALID"), ("0x", "RLP_INVALID")])
def test_bad_hex_is_a_decode_error(text: str, code: str) -> None:
    assert _error(text).code == code


def test_non_ascii_text_is_refused() -> None:
    assert _error("0\xff").code == "HEX_INVALID"


def test_bytes_are_never_read_as_hex_text() -> None:
    # The ASCII of a hex transaction is itself a (type 0x30, invalid) binary transaction: never unwrapped twice.
    assert _error(EIP155_RAW[2:].encode("ascii")).code == "TX_TYPE_UNSUPPORTED"
    assert _error(("0x02" + "e7").encode("ascii")).code == "TX_TYPE_UNSUPPORTED"


# --- envelope and field validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\x03\xc0", "TX_TYPE_UNSUPPORTED"),
        (b"\x05\xc0", "TX_TYPE_UNSUPPORTED"),
        (b"\x00\xc0", "TX_TYPE_UNSUPPORTED"),
        (b"\x80", "RLP_INVALID"),
        (b"\x02\x80", "TX_FIELDS_INVALID"),
        (b"\x02\xc0", "TX_FIELDS_INVALID"),
        (pyrlp.encode([b""] * 7), "TX_FIELDS_INVALID"),
    ],
)
def test_envelope_errors(raw: bytes, code: str) -> None:
    assert _error(raw).code == code


def _altered(raw: bytes, index: int, value: Any) -> bytes:
    fields = _fields(raw)
    fields[index] = value
    return (raw[:1] if raw[0] < 0x80 else b"") + pyrlp.encode(fields)


@pytest.mark.parametrize(
    ("index", "value", "reason"),
    [
        (0, rlp.encode_uint(1 << 64), "chain id"),
        (1, rlp.encode_uint(1 << 64), "nonce"),
        (4, rlp.encode_uint(1 << 64), "gas_limit"),
        (5, b"\x35" * 19, "to is 19 bytes"),
        (6, b"\x00\x01", "value"),
        (7, [b""], "data"),
        (8, b"", "access_list must be a list"),
        (8, [[b"\x01" * 20]], "access_list[0] must be"),
        (8, [[b"\x01" * 20, [b"\x02" * 31]]], "storage_keys[0] is 31 bytes"),
        (8, [[b"\x01" * 21, []]], "access_list[0].address is 21 bytes"),
        (9, b"\x02", "y_parity does not fit in 8 bits"),
        (10, b"\x01" * 33, "r does not fit"),
    ],
)
def test_field_validation(index: int, value: Any, reason: str) -> None:
    raw = _sign(_eip1559())
    if index == 9:
        value = b"\x01\x00"  # y_parity 256
    error = _error(_altered(raw, index, value))
    assert error.code == "TX_FIELDS_INVALID"
    assert reason in str(error.details["reason"])


def test_legacy_chain_id_bound_and_bad_v() -> None:
    raw = _sign({"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000, "to": TO, "value": 0})
    assert _error(_altered(raw, 6, rlp.encode_uint(35 + 2 * (1 << 64)))).code == "TX_FIELDS_INVALID"
    for bad_v in (0, 1, 26, 29, 34):
        assert _error(_altered(raw, 6, rlp.encode_uint(bad_v))).code == "SIGNATURE_ENCODING_INVALID"


def test_contract_creation_is_allowed_except_in_eip7702() -> None:
    created = decode_transaction(_sign(_eip1559(to=b"", data="0x6000")))
    assert created.to is None and created.data == b"\x60\x00"
    auth = Account.sign_authorization({"chainId": 1, "address": TO, "nonce": 0}, KEY)
    raw = _sign(_set_code([auth]))
    error = _error(_altered(raw, 5, b""))
    assert "cannot create a contract" in str(error.details["reason"])


def test_eip7702_needs_at_least_one_authorization() -> None:
    auth = Account.sign_authorization({"chainId": 1, "address": TO, "nonce": 0}, KEY)
    error = _error(_altered(_sign(_set_code([auth])), 9, []))
    assert "no authorization" in str(error.details["reason"])


@pytest.mark.parametrize(
    ("position", "value", "reason"),
    [
        (0, b"\x00\x01", "chain_id has leading zero"),
        (1, b"\x01" * 19, "address is 19 bytes"),
        (2, rlp.encode_uint(1 << 64), "nonce does not fit"),
        (3, rlp.encode_uint(256), "y_parity does not fit"),
        (4, b"\x01" * 33, "r does not fit"),
    ],
)
def test_authorization_bounds_are_decode_errors(position: int, value: bytes, reason: str) -> None:
    auth = Account.sign_authorization({"chainId": 1, "address": TO, "nonce": 0}, KEY)
    fields = _fields(_sign(_set_code([auth])))
    fields[9][0][position] = value
    error = _error(_typed(4, fields))
    assert error.code == "TX_FIELDS_INVALID"
    assert reason in str(error.details["reason"])


def test_authorization_shape_is_checked() -> None:
    auth = Account.sign_authorization({"chainId": 1, "address": TO, "nonce": 0}, KEY)
    fields = _fields(_sign(_set_code([auth])))
    fields[9] = [fields[9][0][:5]]
    assert "authorization_list[0] must be" in str(_error(_typed(4, fields)).details["reason"])


# --- signatures: invalid values are reported, never raised ------------------------------------------------


def _flip_to_high_s(fields: list[Any], parity_index: int) -> None:
    s = int.from_bytes(fields[parity_index + 2], "big")
    fields[parity_index + 2] = rlp.encode_uint(SECP256K1_N - s)
    fields[parity_index] = rlp.encode_uint(1 - int.from_bytes(fields[parity_index], "big"))


def test_high_s_is_an_invalid_signature_even_though_it_recovers() -> None:
    fields = _fields(_sign(_eip1559()))
    _flip_to_high_s(fields, 9)
    tx = decode_transaction(_typed(2, fields))
    assert tx.sender is None
    assert tx.signature_error is not None and "upper half" in tx.signature_error
    assert tx.tx_hash is not None


@pytest.mark.parametrize(
    ("index", "value", "reason"),
    [(9, b"\x02", "y parity 2"), (10, b"", "outside the curve order"), (11, b"", "outside the curve order")],
)
def test_unrecoverable_signatures_are_values(index: int, value: bytes, reason: str) -> None:
    tx = decode_transaction(_altered(_sign(_eip1559()), index, value))
    assert tx.sender is None and tx.signature_error is not None and reason in tx.signature_error


def test_bad_authorizations_are_values() -> None:
    good = Account.sign_authorization({"chainId": 1, "address": TO, "nonce": 3}, KEY)
    fields = _fields(_sign(_set_code([good, good, good, good])))
    _flip_to_high_s(fields[9][0], 3)
    fields[9][1][3] = b"\x05"
    fields[9][2][2] = rlp.encode_uint(UINT64_MAX)
    tx = decode_transaction(_typed(4, fields))
    errors = [a.error for a in tx.authorization_list]
    assert [a.valid for a in tx.authorization_list] == [False, False, False, True]
    assert "upper half" in str(errors[0]) and "y parity 5" in str(errors[1]) and "2**64-1" in str(errors[2])
    assert tx.authorization_list[3].authority == ADDRESS


# --- unsigned forms --------------------------------------------------------------------------------------


def test_unsigned_legacy_forms() -> None:
    signed = _fields(_sign({"chainId": 5, "nonce": 1, "gasPrice": 2, "gas": 21000, "to": TO, "value": 3}))
    eip155 = decode_transaction(pyrlp.encode([*signed[:6], b"\x05", b"", b""]))
    assert (eip155.chain_id, eip155.signed, eip155.tx_hash, eip155.sender) == (5, False, None, None)
    pre155 = decode_transaction(pyrlp.encode(signed[:6]))
    assert pre155.chain_id is None and not pre155.signed
    assert _error(pyrlp.encode([*signed[:6], b"", b"", b""])).code == "TX_FIELDS_INVALID"


def _unsigned_variant(raw: bytes, chain_id: int | None) -> bytes:
    """The unsigned encoding of a signed transaction, built with pyrlp (independently of mamori)."""
    fields = _fields(raw)
    if raw[0] < 0x80:
        return _typed(raw[0], fields[:-3])
    return pyrlp.encode(fields[:6] if chain_id is None else [*fields[:6], rlp.encode_uint(chain_id), b"", b""])


# --- differential against eth-account ---------------------------------------------------------------------


def _random_tx(rng: random.Random, tx_type: int, keys: list[str]) -> dict[str, Any]:
    def uint(bits: int) -> int:
        return rng.choice([0, 1, rng.getrandbits(bits), (1 << bits) - 1, rng.getrandbits(rng.randint(1, bits))])

    tx: dict[str, Any] = {
        "nonce": uint(64), "gas": uint(64), "value": uint(256), "data": rng.randbytes(rng.choice([0, 4, 36, 68, 300])),
    }  # fmt: skip
    if tx_type == 4 or rng.random() < 0.85:
        tx["to"] = to_checksum_address(rng.randbytes(20))
    if tx_type == 0:
        tx["gasPrice"] = uint(256)
        if rng.random() < 0.8:
            tx["chainId"] = rng.choice([1, 5, 137, 11155111, rng.randint(1, UINT64_MAX)])
        return tx
    tx.update(type=tx_type, chainId=rng.choice([1, 10, 8453, rng.randint(0, UINT64_MAX)]))
    tx["accessList"] = [
        {"address": "0x" + rng.randbytes(20).hex(), "storageKeys": ["0x" + rng.randbytes(32).hex()] * rng.randint(0, 3)}
        for _ in range(rng.randint(0, 3))
    ]
    if tx_type == 1:
        tx["gasPrice"] = uint(256)
    else:
        tx.update(maxFeePerGas=uint(256), maxPriorityFeePerGas=uint(256))
    if tx_type == 4:
        tx["authorizationList"] = [
            Account.sign_authorization(
                {
                    "chainId": rng.choice([0, tx["chainId"], rng.getrandbits(256)]),
                    "address": "0x" + rng.randbytes(20).hex(),
                    "nonce": rng.randint(0, UINT64_MAX - 1),
                },
                rng.choice(keys),
            )
            for _ in range(rng.randint(1, 3))
        ]
    return tx


def _check_against_eth_account(tx_dict: dict[str, Any], key: str) -> None:
    signed = Account.sign_transaction(tx_dict, key)
    raw = bytes(signed.raw_transaction)
    tx = decode_transaction(raw)
    if raw[0] < 0x80:
        their_signing_hash = bytes(TypedTransaction.from_bytes(HexBytes(raw)).hash())
    else:
        their_signing_hash = bytes(hash_of_signed_transaction(Transaction.from_bytes(raw)))
    assert tx.signing_hash == their_signing_hash
    assert tx.tx_hash == bytes(signed.hash)
    assert tx.signature_error is None
    assert tx.sender is not None and Account.recover_transaction(raw) == Account.from_key(key).address
    assert "0x" + tx.sender.hex() == Account.from_key(key).address.lower()
    _check_fields(tx, tx_dict)
    unsigned = decode_transaction(_unsigned_variant(raw, tx_dict.get("chainId")))
    assert (unsigned.signing_hash, unsigned.signed, unsigned.sender) == (their_signing_hash, False, None)


def _check_fields(tx: EvmTransaction, tx_dict: dict[str, Any]) -> None:
    assert tx.tx_type == tx_dict.get("type", 0)
    assert (tx.nonce, tx.gas_limit, tx.value, tx.data) == (
        tx_dict["nonce"], tx_dict["gas"], tx_dict["value"], tx_dict["data"],
    )  # fmt: skip
    assert tx.to == (bytes.fromhex(tx_dict["to"][2:]) if tx_dict.get("to") else None)
    assert tx.chain_id == tx_dict.get("chainId")
    assert tx.gas_price == tx_dict.get("gasPrice")
    assert (tx.max_fee_per_gas, tx.max_priority_fee_per_gas) == (
        tx_dict.get("maxFeePerGas"), tx_dict.get("maxPriorityFeePerGas"),
    )  # fmt: skip
    assert [(e.address.hex(), [k.hex() for k in e.storage_keys]) for e in tx.access_list] == [
        (e["address"][2:], [k[2:] for k in e["storageKeys"]]) for e in tx_dict.get("accessList", [])
    ]
    theirs = tx_dict.get("authorizationList", [])
    assert len(tx.authorization_list) == len(theirs)
    for ours, auth in zip(tx.authorization_list, theirs, strict=True):
        assert (ours.chain_id, ours.address, ours.nonce) == (auth.chain_id, bytes(auth.address), auth.nonce)
        assert (ours.y_parity, ours.r, ours.s) == (auth.y_parity, auth.r, auth.s)
        assert ours.signing_hash == bytes(auth.authorization_hash)
        assert ours.authority == bytes.fromhex(
            Account._recover_hash(auth.authorization_hash, vrs=(auth.y_parity, auth.r, auth.s))[2:]
        )


@pytest.mark.slow
@pytest.mark.parametrize("tx_type", [0, 1, 2, 4])
def test_differential_against_eth_account(tx_type: int) -> None:
    rng = random.Random(f"mamori-evm-{tx_type}")  # noqa: S311 - reproducible test data, not secrets
    keys = ["0x" + rng.randbytes(32).hex() for _ in range(8)]
    for _ in range(150):
        _check_against_eth_account(_random_tx(rng, tx_type, keys), rng.choice(keys))


# --- robustness: arbitrary input raises only mamori errors --------------------------------------------------

SEEDS = [VECTORS["transactions"][i]["raw"] for i in range(len(VECTORS["transactions"]))]


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_mamori_errors(data: bytes) -> None:
    for candidate in (data, b"\x01" + data, b"\x02" + data, b"\x04" + data):
        with contextlib.suppress(MamoriError):
            decode_transaction(candidate)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4))
def test_mutated_transactions_raise_only_mamori_errors(seed: str, edits: list[tuple[int, int]]) -> None:
    data = bytearray(_hex(seed))
    for position, byte in edits:
        data[position % len(data)] = byte
    try:
        tx = decode_transaction(bytes(data))
    except MamoriError:
        return
    assert tx.signing_hash and (tx.sender is None) == (tx.signature is None or tx.signature_error is not None)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_raises_only_mamori_errors(text: str) -> None:
    with contextlib.suppress(MamoriError):
        decode_transaction(text)

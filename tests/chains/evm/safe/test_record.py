"""Parsing Safe Transaction Service records: the real Bybit response, aliases, and strict field errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mamori.chains.evm.safe.record import parse_safe_tx_record, records_in_document
from mamori.errors import InputError, MamoriError

REPO = Path(__file__).resolve().parents[4]
SHARED_BYBIT = REPO / ".." / "shared" / "data" / "safe" / "bybit-safe-tx-71.json"
SAMPLE_BYBIT = REPO / "src" / "mamori" / "content" / "samples" / "bybit-safe-tx-71.json"

OWNERS = (
    bytes.fromhex("1F4EB0a903619ac168b19A82F1a6e2e426522211"),
    bytes.fromhex("3Cc3A225769900e003E264dd4CB43E90896BC21A"),
    bytes.fromhex("e3dF2cCEAc61B1aFA311372ecC5B40A3A6585a9E"),
)


def _document() -> dict[str, Any]:
    path = SHARED_BYBIT if SHARED_BYBIT.exists() else SAMPLE_BYBIT
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _executed() -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(_document()["results"][0])
    return record


def _minimal() -> dict[str, Any]:
    return {
        "safe": "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4",
        "to": "0x88a1493366D48225fc3cEFbdae9eBb23E323Ade3",
        "value": "1",
        "data": None,
        "operation": 0,
        "safeTxGas": 0,
        "baseGas": 0,
        "gasPrice": "0",
        "nonce": 3,
    }


def test_shipped_sample_is_the_shared_bybit_record() -> None:
    if not SHARED_BYBIT.exists():
        pytest.skip("shared data not present")
    shared = json.loads(SHARED_BYBIT.read_text(encoding="utf-8"))
    assert json.loads(SAMPLE_BYBIT.read_text(encoding="utf-8")) == shared


def test_parse_bybit_executed_record() -> None:
    parsed = parse_safe_tx_record(_executed())
    tx = parsed.tx
    assert tx.safe == bytes.fromhex("1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4")
    assert tx.to == bytes.fromhex("96221423681A6d52E184D440a8eFCEbB105C7242")
    assert (tx.value, tx.operation, tx.safe_tx_gas, tx.base_gas, tx.gas_price, tx.nonce) == (0, 1, 45746, 0, 0, 71)
    assert tx.data[:4] == bytes.fromhex("a9059cbb")
    assert len(tx.data) == 68
    assert tx.gas_token == bytes(20)
    assert tx.refund_receiver == bytes(20)
    assert parsed.claimed_safe_tx_hash == bytes.fromhex(
        "b3476d061aeb8fc1d605a873c483a2402d88a68a9cdd1a8b47655dd55ba004f8"
    )
    assert len(parsed.signatures) == 3 * 65
    assert parsed.confirmations_required == 3
    assert tuple(c.owner for c in parsed.confirmations) == OWNERS
    assert all(c.signature_type == "ETH_SIGN" for c in parsed.confirmations)
    assert all(len(c.signature) == 65 and c.signature[64] == 0x1F for c in parsed.confirmations)
    # The packed signatures are the three confirmations, in owner order.
    assert parsed.signatures == b"".join(c.signature for c in parsed.confirmations)


def test_parse_bybit_displayed_record() -> None:
    parsed = parse_safe_tx_record(_document()["results"][1])
    assert parsed.tx.value == 30_000 * 10**18
    assert parsed.tx.data == b""
    assert parsed.tx.operation == 0
    assert parsed.tx.safe_tx_gas == 45745
    # Same three signatures as results[0], stored in submission order.
    assert sorted(c.signature for c in parsed.confirmations) == sorted(
        c.signature for c in parse_safe_tx_record(_executed()).confirmations
    )


def test_records_in_document_shapes() -> None:
    document = _document()
    records, is_list = records_in_document(document)
    assert is_list is True
    assert len(records) == 2
    assert records_in_document([1, 2]) == ([1, 2], True)
    single = _minimal()
    assert records_in_document(single) == ([single], False)
    assert records_in_document({"results": "x"}) == ([{"results": "x"}], False)


def test_snake_case_aliases() -> None:
    record = _minimal()
    for camel, snake in (("safeTxGas", "safe_tx_gas"), ("baseGas", "base_gas"), ("gasPrice", "gas_price")):
        record[snake] = 7
        del record[camel]
    record["gas_token"] = "0x" + "11" * 20
    record["refund_receiver"] = "0x" + "22" * 20
    record["safe_tx_hash"] = "0x" + "ab" * 32
    record["confirmations_required"] = "2"
    tx_record = parse_safe_tx_record(record)
    assert (tx_record.tx.safe_tx_gas, tx_record.tx.base_gas, tx_record.tx.gas_price) == (7, 7, 7)
    assert tx_record.tx.gas_token == b"\x11" * 20
    assert tx_record.tx.refund_receiver == b"\x22" * 20
    assert tx_record.claimed_safe_tx_hash == b"\xab" * 32
    assert tx_record.confirmations_required == 2


def test_camel_case_wins_over_snake_case() -> None:
    record = _minimal()
    record["baseGas"] = 5
    record["base_gas"] = 9
    assert parse_safe_tx_record(record).tx.base_gas == 5


def test_data_gas_is_the_pre_1_0_name_of_base_gas() -> None:
    record = _minimal()
    del record["baseGas"]
    record["dataGas"] = 42
    assert parse_safe_tx_record(record).tx.base_gas == 42
    record["baseGas"] = None
    assert parse_safe_tx_record(record).tx.base_gas == 42


def test_optional_fields_default() -> None:
    parsed = parse_safe_tx_record(_minimal())
    assert parsed.tx.data == b""
    assert parsed.tx.gas_token == bytes(20)
    assert parsed.tx.refund_receiver == bytes(20)
    assert parsed.claimed_safe_tx_hash is None
    assert parsed.signatures == b""
    assert parsed.confirmations == ()
    assert parsed.confirmations_required is None


def test_unknown_fields_are_ignored() -> None:
    record = _minimal()
    record["dataDecoded"] = {"method": "transfer", "parameters": [1, 2, {"x": None}]}
    record["origin"] = "{}"
    assert parse_safe_tx_record(record).tx.value == 1


@pytest.mark.parametrize("field", ["safe", "to", "value", "operation", "safeTxGas", "baseGas", "gasPrice", "nonce"])
def test_missing_required_field(field: str) -> None:
    record = _minimal()
    del record[field]
    with pytest.raises(InputError) as info:
        parse_safe_tx_record(record)
    assert info.value.code == "FIELD_MISSING"
    assert info.value.details["field"] == field


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("safe", "0x1db92e2eebc8e0c075a02bea49a2935bcd2dFCF4", "ADDRESS_CHECKSUM_INVALID"),
        ("to", "0x1234", "ADDRESS_INVALID"),
        ("to", 5, "FIELD_TYPE_INVALID"),
        ("value", 1.5, "FIELD_TYPE_INVALID"),
        ("value", "-1", "INTEGER_INVALID"),
        ("value", 2**256, "INTEGER_OUT_OF_RANGE"),
        ("operation", 256, "INTEGER_OUT_OF_RANGE"),
        ("operation", True, "FIELD_TYPE_INVALID"),
        ("data", "0xabc", "HEX_INVALID"),
        ("data", 12, "FIELD_TYPE_INVALID"),
        ("gasToken", "0x00", "ADDRESS_INVALID"),
        ("safeTxHash", "0x1234", "HASH_INVALID"),
        ("signatures", "0xzz", "HEX_INVALID"),
        ("confirmationsRequired", 2**32, "INTEGER_OUT_OF_RANGE"),
        ("confirmations", {"owner": "x"}, "FIELD_TYPE_INVALID"),
        ("confirmations", ["not an object"], "FIELD_TYPE_INVALID"),
    ],
)
def test_invalid_field_values(field: str, value: object, code: str) -> None:
    record = _minimal()
    record[field] = value
    with pytest.raises(InputError) as info:
        parse_safe_tx_record(record)
    assert info.value.code == code


def test_operation_2_parses_so_it_can_be_reported() -> None:
    record = _minimal()
    record["operation"] = 2
    assert parse_safe_tx_record(record).tx.operation == 2


@pytest.mark.parametrize(
    ("confirmation", "code", "field"),
    [
        ({"signature": "0x00"}, "FIELD_MISSING", "confirmations[0].owner"),
        ({"owner": "0x" + "11" * 20, "signature": "0x0"}, "HEX_INVALID", "confirmations[0].signature"),
        ({"owner": "0x" + "11" * 20, "signatureType": 3}, "FIELD_TYPE_INVALID", "confirmations[0].signatureType"),
    ],
)
def test_invalid_confirmations(confirmation: dict[str, Any], code: str, field: str) -> None:
    record = _minimal()
    record["confirmations"] = [confirmation]
    with pytest.raises(InputError) as info:
        parse_safe_tx_record(record)
    assert info.value.code == code
    assert info.value.details["field"] == field


def test_confirmation_with_snake_case_signature_type_and_no_signature() -> None:
    record = _minimal()
    record["confirmations"] = [{"owner": "0x" + "11" * 20, "signature": None, "signature_type": "APPROVED_HASH"}]
    (confirmation,) = parse_safe_tx_record(record).confirmations
    assert confirmation.signature == b""
    assert confirmation.signature_type == "APPROVED_HASH"


@pytest.mark.parametrize("document", [None, [], "0x", 5, True, ["a"]])
def test_non_object_records_are_refused(document: object) -> None:
    with pytest.raises(InputError) as info:
        parse_safe_tx_record(document)
    assert info.value.code == "RECORD_SHAPE_INVALID"


def test_errors_are_mamori_errors_with_json_bodies() -> None:
    record = _minimal()
    record["value"] = 0.5
    with pytest.raises(MamoriError) as info:
        parse_safe_tx_record(record)
    body = info.value.to_dict()
    assert body["error"]["code"] == "FIELD_TYPE_INVALID"
    assert body["error"]["details"]["field"] == "value"
    json.dumps(body)  # serialisable as is

"""The EVM transaction verifier: report contents, JSON shape, and every finding it can raise."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import rlp as pyrlp
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.chains.evm import rlp
from mamori.chains.evm.crypto import SECP256K1_N
from mamori.errors import ContextError, MamoriError
from mamori.verify.evm import EvmTxReport, verify_evm_tx
from mamori.verify.registry import ContractRegistry, default_registry

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "evm" / "published_vectors.json").read_text("utf-8"))
BY_ID = {v["id"]: v for v in VECTORS["transactions"]}
KEY = "0x" + "5a" * 32
SENDER = Account.from_key(KEY).address
TOKEN = to_checksum_address("0x" + "a0" * 20)
SPENDER = to_checksum_address("0x" + "5e" * 20)
DELEGATE = to_checksum_address("0x" + "de" * 20)
JSON_KEYS = {
    "type", "chain_id", "nonce", "to", "value", "data", "gas_limit", "gas_price", "max_fee_per_gas",
    "max_priority_fee_per_gas", "access_list", "authorization_list", "signing_hash", "tx_hash", "sender",
    "signed", "signature", "call", "findings", "verdict",
}  # fmt: skip


def _verify(raw: bytes | str, **kwargs: Any) -> EvmTxReport:
    return verify_evm_tx(raw, registry=kwargs.pop("registry", ContractRegistry.empty()), **kwargs)


def _codes(report: EvmTxReport) -> list[str]:
    return [f.code for f in report.findings]


def _sign(**overrides: Any) -> bytes:
    tx = {"type": 2, "chainId": 1, "nonce": 0, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
          "gas": 100_000, "to": TOKEN, "value": 0, "data": "0x", "accessList": []}  # fmt: skip
    tx.update(overrides)
    return bytes(Account.sign_transaction(tx, KEY).raw_transaction)


def _calldata(signature: str, types: list[str], values: list[Any]) -> bytes:
    return bytes(function_signature_to_4byte_selector(signature)) + abi_encode(types, values)


def _authorize(address: str = DELEGATE, chain_id: int = 1, key: str = KEY) -> Any:
    return Account.sign_authorization({"chainId": chain_id, "address": address, "nonce": 1}, key)


# --- reports on published vectors ---------------------------------------------------------------------------


def test_eip155_example_report() -> None:
    vector = BY_ID["eip155-example"]
    report = _verify(
        vector["raw"], expected_chain_id=1, expected_sender=bytes.fromhex(vector["expected"]["sender"][2:])
    )
    out = report.to_json()
    assert set(out) == JSON_KEYS
    assert out["type"] == "legacy" and out["chain_id"] == 1 and out["nonce"] == 9
    assert out["to"] == "0x3535353535353535353535353535353535353535"
    assert (out["value"], out["gas_limit"], out["gas_price"]) == ("1000000000000000000", "21000", "20000000000")
    assert out["max_fee_per_gas"] is None and out["max_priority_fee_per_gas"] is None
    assert out["signing_hash"] == vector["expected"]["signing_hash"]
    assert out["sender"] == vector["expected"]["sender"]
    assert out["signed"] is True and out["signature"]["v"] == "37"
    assert out["call"]["kind"] == "native_transfer"
    assert (out["findings"], out["verdict"]) == ([], "ok")
    orjson.dumps(out)


def test_eip7702_vector_reports_the_delegation() -> None:
    vector = BY_ID["ox-7702-getSignPayload"]
    out = _verify(vector["raw"], expected_chain_id=1).to_json()
    assert out["type"] == "eip7702" and out["tx_hash"] == vector["expected"]["tx_hash"]
    [auth] = out["authorization_list"]
    assert auth["authority"] == vector["expected"]["sender"] and auth["valid"] is True
    assert auth["address"] == "0xFBA3912Ca04dd458c843e2EE08967fC04f3579c2" and auth["chain_id"] == "1"
    [item] = out["findings"]
    assert item["code"] == "EIP7702_DELEGATION" and item["path"] == "authorization_list[0]"
    assert item["details"] == {"authority": auth["authority"], "delegate": auth["address"]}
    assert out["verdict"] == "blocked"


def test_unknown_selector_on_a_live_transaction() -> None:
    report = _verify(BY_ID["alloy-live-legacy-mainnet"]["raw"], registry=default_registry())
    # swapExactETHForTokens: an unknown function that also receives the ETH sent with it
    assert _codes(report) == ["UNKNOWN_CALL", "VALUE_WITH_CALL"]
    assert report.findings[0].details == (("selector", "0x7ff36ab5"), ("target", report.tx.to))
    assert dict(report.findings[1].details)["value"] == report.tx.value
    assert report.verdict.label == "ok"  # medium: explain, do not block


def test_pre_eip155_transaction_is_replayable() -> None:
    report = _verify(BY_ID["ethtests-SenderTest-pre155"]["raw"], expected_chain_id=1)
    assert _codes(report) == ["REPLAYABLE_NO_CHAIN_ID"]
    assert report.to_json()["chain_id"] is None and report.verdict.label == "blocked"


def test_invalid_signature_is_a_finding_not_an_error() -> None:
    [vector] = [v for v in VECTORS["invalid"] if v["id"] == "TransactionWithSvalueHigh"]
    report = _verify(vector["raw"])
    assert "TX_SIGNATURE_INVALID" in _codes(report)
    out = report.to_json()
    assert out["sender"] is None and out["signature"]["error"] and out["verdict"] == "blocked"


# --- findings -------------------------------------------------------------------------------------------------


def test_chain_id_mismatch() -> None:
    report = _verify(_sign(chainId=137), expected_chain_id=1)
    assert _codes(report) == ["CHAIN_ID_MISMATCH"]
    assert dict(report.findings[0].details) == {"actual": 137, "expected": 1}
    assert report.verdict.label == "blocked"
    assert _codes(_verify(_sign(chainId=137), expected_chain_id=137)) == []


def test_unlimited_approval() -> None:
    data = _calldata("approve(address,uint256)", ["address", "uint256"], [SPENDER, 2**256 - 1])
    report = _verify(_sign(data=data))
    assert _codes(report) == ["UNLIMITED_APPROVAL"]
    assert report.call.kind == "erc20_approve" and report.findings[0].path == "call"
    assert report.verdict.label == "blocked"


def test_bounded_approval_is_ok() -> None:
    data = _calldata("approve(address,uint256)", ["address", "uint256"], [SPENDER, 10**6])
    assert _codes(_verify(_sign(data=data))) == []


def test_unknown_selector() -> None:
    report = _verify(_sign(data=bytes.fromhex("deadbeef") + bytes(32)))
    assert _codes(report) == ["UNKNOWN_CALL"]
    assert report.to_json()["call"]["selector"] == "0xdeadbeef"


def test_sender_mismatch_and_match() -> None:
    raw = _sign(value=1)
    other = bytes.fromhex(Account.from_key("0x" + "77" * 32).address[2:])
    report = _verify(raw, expected_sender=other)
    assert _codes(report) == ["SENDER_MISMATCH"]
    assert dict(report.findings[0].details)["recovered"] == bytes.fromhex(SENDER[2:])
    assert _codes(_verify(raw, expected_sender=bytes.fromhex(SENDER[2:]))) == []


def test_contract_creation() -> None:
    report = _verify(_sign(to=b"", data="0x600060005560016000f3"))
    assert _codes(report) == ["CONTRACT_CREATION"]
    assert dict(report.findings[0].details) == {"size": 10}
    out = report.to_json()
    assert out["to"] is None and out["call"]["to"] is None and out["call"]["kind"] == "contract_creation"


def test_eip7702_delegation_by_a_third_party_authority() -> None:
    authority_key = "0x" + "33" * 32
    report = _verify(_sign(type=4, authorizationList=[_authorize(key=authority_key)], to=SENDER))
    [item] = report.findings
    assert item.code == "EIP7702_DELEGATION"
    assert dict(item.details)["authority"] == bytes.fromhex(Account.from_key(authority_key).address[2:])


def test_delegating_to_the_zero_address_clears_and_is_not_a_finding() -> None:
    report = _verify(_sign(type=4, authorizationList=[_authorize("0x" + "00" * 20)], to=SENDER))
    assert _codes(report) == []
    assert report.to_json()["authorization_list"][0]["valid"] is True
    assert report.verdict.label == "ok"


def test_authorization_for_another_chain() -> None:
    report = _verify(_sign(type=4, authorizationList=[_authorize(chain_id=10)], to=SENDER))
    assert sorted(_codes(report)) == ["CHAIN_ID_MISMATCH", "EIP7702_DELEGATION"]
    mismatch = next(f for f in report.findings if f.code == "CHAIN_ID_MISMATCH")
    assert mismatch.path == "authorization_list[0].chain_id"
    assert dict(mismatch.details) == {"actual": 10, "expected": 1}
    assert _codes(_verify(_sign(type=4, authorizationList=[_authorize(chain_id=0)], to=SENDER))) == [
        "EIP7702_DELEGATION"
    ]


def test_authorization_with_a_bad_signature() -> None:
    fields = list(pyrlp.decode(_sign(type=4, authorizationList=[_authorize()], to=SENDER)[1:]))
    s = int.from_bytes(fields[9][0][5], "big")
    fields[9][0][5] = rlp.encode_uint(SECP256K1_N - s)
    report = _verify(b"\x04" + pyrlp.encode(fields))
    # The outer signature no longer matches the altered payload: it recovers, but to someone else.
    assert "TX_SIGNATURE_INVALID" in _codes(report) and "EIP7702_DELEGATION" not in _codes(report)
    item = next(f for f in report.findings if f.code == "TX_SIGNATURE_INVALID")
    assert item.path == "authorization_list[0]" and "upper half" in str(dict(item.details)["reason"])
    assert (
        report.to_json()["authorization_list"][0] | {"valid": False, "authority": None}
        == report.to_json()["authorization_list"][0]
    )


def test_transaction_signature_invalid_high_s() -> None:
    fields = list(pyrlp.decode(_sign()[1:]))
    fields[11] = rlp.encode_uint(SECP256K1_N - int.from_bytes(fields[11], "big"))
    report = _verify(b"\x02" + pyrlp.encode(fields), expected_sender=bytes.fromhex(SENDER[2:]))
    assert _codes(report) == ["TX_SIGNATURE_INVALID"]  # no SENDER_MISMATCH on top: there is no sender
    assert report.findings[0].path == "signature"


def test_priority_fee_above_fee_cap_is_invalid() -> None:
    # eth-account refuses to sign such a transaction, so build the signed encoding by hand.
    fields = [1, 0, 10**10, 10**9, 100_000, bytes.fromhex(TOKEN[2:]), 0, b"", []]
    digest_source = b"\x02" + pyrlp.encode(fields)
    from eth_utils import keccak

    signed = Account.unsafe_sign_hash(keccak(digest_source), KEY)
    raw = b"\x02" + pyrlp.encode([*fields, signed.v - 27, signed.r, signed.s])
    report = _verify(raw)
    assert _codes(report) == ["TX_INVALID"]
    assert report.tx.sender is not None and to_checksum_address(report.tx.sender) == SENDER
    assert report.verdict.blocked
    assert "TX_INVALID" not in _codes(_verify(_sign()))


def test_unsigned_transaction() -> None:
    fields = list(pyrlp.decode(_sign(value=7)[1:]))
    out = _verify((b"\x02" + pyrlp.encode(fields[:9])).hex(), expected_sender=bytes(20)).to_json()
    assert (out["signed"], out["signature"], out["sender"], out["tx_hash"]) == (False, None, None, None)
    assert out["findings"] == [] and out["verdict"] == "ok"


def test_findings_are_sorted_by_severity() -> None:
    data = bytes.fromhex("deadbeef")
    report = _verify(_sign(chainId=5, data=data), expected_chain_id=1)
    assert _codes(report) == ["CHAIN_ID_MISMATCH", "UNKNOWN_CALL"]


def test_expected_chain_id_must_be_positive() -> None:
    with pytest.raises(ContextError) as exc:
        _verify(_sign(), expected_chain_id=0)
    assert exc.value.code == "CHAIN_ID_INVALID"


def test_json_carries_huge_values_as_strings() -> None:
    raw = _sign(value=2**256 - 1, maxFeePerGas=2**256 - 1, maxPriorityFeePerGas=2**255, gas=2**64 - 1)
    out = _verify(raw).to_json()
    assert out["value"] == str(2**256 - 1) and out["gas_limit"] == str(2**64 - 1)
    assert json.loads(orjson.dumps(out)) == out


# --- robustness ---------------------------------------------------------------------------------------------

SEEDS = [v["raw"] for v in VECTORS["transactions"]]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_mamori_errors(data: bytes) -> None:
    for candidate in (data, b"\x02" + data, b"\x04" + data):
        with contextlib.suppress(MamoriError):
            orjson.dumps(_verify(candidate, expected_chain_id=1).to_json())


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4))
def test_mutated_transactions_raise_only_mamori_errors(seed: str, edits: list[tuple[int, int]]) -> None:
    data = bytearray(bytes.fromhex(seed[2:]))
    for position, byte in edits:
        data[position % len(data)] = byte
    try:
        report = _verify(bytes(data), expected_chain_id=1, expected_sender=bytes(20), registry=default_registry())
    except MamoriError:
        return
    orjson.dumps(report.to_json())

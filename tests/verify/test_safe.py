"""verify_safe_tx end to end: the Bybit theft (real data), and every signature check on generated keys."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import rlp
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_hash.auto import keccak

from mamori.chains.evm.encoding import to_checksum_address
from mamori.chains.evm.safe.hashes import safe_tx_hashes
from mamori.chains.evm.safe.record import parse_safe_tx_record
from mamori.chains.evm.safe.signatures import recover_signer, split_signatures
from mamori.chains.evm.safe.versions import parse_safe_version
from mamori.errors import ContextError
from mamori.verify.context import SafeBook, SafeContext, resolve_context
from mamori.verify.model import Finding, Severity
from mamori.verify.registry import ContractRegistry
from mamori.verify.safe import SafeTxReport, verify_safe_record, verify_safe_tx, versions_matching_hash
from support.references import exec_transaction_reference

REPO = Path(__file__).resolve().parents[2]
SHARED_BYBIT = REPO / ".." / "shared" / "data" / "safe" / "bybit-safe-tx-71.json"
SAMPLE_BYBIT = REPO / "src" / "mamori" / "content" / "samples" / "bybit-safe-tx-71.json"

BYBIT_SAFE = bytes.fromhex("1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4")
BYBIT_SIGNERS = (
    bytes.fromhex("1F4EB0a903619ac168b19A82F1a6e2e426522211"),
    bytes.fromhex("3Cc3A225769900e003E264dd4CB43E90896BC21A"),
    bytes.fromhex("e3dF2cCEAc61B1aFA311372ecC5B40A3A6585a9E"),
)
EXECUTED_HASH = "b3476d061aeb8fc1d605a873c483a2402d88a68a9cdd1a8b47655dd55ba004f8"
SHOWN_HASH = "9d89e67333f99c136537be74029c44592985a4855172f4c2d0d942029868f98e"
WRONG_RULES_HASH = "00816067f634281378513f1457cf38371f6085a15e35cbca0062011abb05e18e"
ATTACKER_EXECUTOR = "0x0fa09C3A328792253f8dee7116848723b72a6d2e"

# The signed raw transaction 0x46deef0f…7882 (block 21,895,238) that executed results[0], as published on
# chain (transcribed in the public repository of a Rust transaction decoder's tests; it authenticates itself:
# its keccak is the transaction hash the Safe Transaction Service records and its signature recovers to the
# attacker's executor account).
BYBIT_RAW_TX = bytes.fromhex(
    "f9032b2a8502540be40083030d40941db92e2eebc8e0c075a02bea49a2935bcd2dfcf480b902c46a76120200000000000000"
    "000000000096221423681a6d52e184d440a8efcebb105c724200000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000001400000000000000000000000"
    "0000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000"
    "00b2b20000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000001c00000000000000000000000000000000000000000000000000000000000000044a9059cbb00"
    "0000000000000000000000bdd077f651ebe7f7b3ce16fe5f2b025be296951600000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000c3d0afef78a52fd504479dc2af3dc401334762cbd05609c7ac18db9e"
    "c5abf4a07a5cc09fc86efd3489707b89b0c729faed616459189cb50084f208d03b201b001f1f0f62ad358d6b319d3c1221d4"
    "4456080068fe02ae5b1a39b4afb1e6721ca7f9903ac523a801533f265231cd35fc2dfddc3bd9a9563b51315cf9d5ff23dc6d"
    "2c221fdf9e4b878877a8dbeee951a4a31ddbf1d3b71e127d5eda44b4730030114baba52e06dd23da37cd2a07a6e84f9950db"
    "867374a0f77558f42adf4409bfd569673c1f000000000000000000000000000000000000000000000000000000000025a0c0"
    "6f155e9045c02891297148228ed69cc7167a6f8606f66a942ef75624c5906da03e9f83eae889e79e3af315c7e9a5e14b12f2"
    "bed9e23d994f751562ec7a4426b3"
)

EMPTY_REGISTRY = ContractRegistry.from_document({"contracts": []})


def _document() -> dict[str, Any]:
    path = SHARED_BYBIT if SHARED_BYBIT.exists() else SAMPLE_BYBIT
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _bybit(index: int) -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(_document()["results"][index])
    return record


def _context(
    version: str = "1.1.1", owners: frozenset[bytes] | None = None, threshold: int | None = None
) -> SafeContext:
    return SafeContext(chain_id=1, version=parse_safe_version(version), owners=owners, threshold=threshold)


def _verify(record: dict[str, Any], context: SafeContext) -> SafeTxReport:
    report = verify_safe_tx(parse_safe_tx_record(record), context, EMPTY_REGISTRY)
    json.dumps(report.to_json())  # the report always serialises
    return report


def codes(findings: tuple[Finding, ...]) -> list[str]:
    return [item.code for item in findings]


def _h(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


# --- Bybit: the executed transaction --------------------------------------------------------------------


def test_bybit_executed_hashes_with_safe_1_1_1() -> None:
    report = _verify(_bybit(0), _context("1.1.1"))
    assert report.hashes.domain_hash == _h("b3ded2bdbff5db1a87f6d551fa256e9f2bd6517a3bb84f4c2ea863fb3a559622")
    assert report.hashes.message_hash == _h("ea68fc75e93bf7286b1257680ca8e2033bfadd8e1cb8a23f3ca18f1031ecf1e0")
    assert report.hashes.safe_tx_hash == _h(EXECUTED_HASH)
    assert report.claimed_safe_tx_hash == _h(EXECUTED_HASH)
    assert "HASH_MISMATCH" not in codes(report.findings)
    body = report.to_json()
    assert body["safe_tx_hash"] == "0x" + EXECUTED_HASH
    assert body["safe_version"] == "1.1.1"


def test_bybit_executed_is_blocked_as_untrusted_delegatecall() -> None:
    report = _verify(_bybit(0), _context("1.1.1"))
    delegatecall = [item for item in report.findings if item.code == "DELEGATECALL_UNTRUSTED"]
    assert len(delegatecall) == 1
    assert delegatecall[0].severity is Severity.CRITICAL
    assert dict(delegatecall[0].details)["target"] == _h("96221423681A6d52E184D440a8eFCEbB105C7242")
    assert report.findings[0].severity is Severity.CRITICAL  # sorted most severe first
    assert report.verdict.blocked is True
    assert report.verdict.highest is Severity.CRITICAL
    assert report.to_json()["verdict"] == "blocked"
    assert report.call.kind == "delegatecall_untrusted"
    assert report.call.operation == 1


def test_bybit_executed_signatures_are_eth_sign_by_three_owners_in_ascending_order() -> None:
    report = _verify(_bybit(0), _context("1.1.1"))
    packed = [check for check in report.signatures if check.source.startswith("signatures[")]
    assert [check.source for check in packed] == ["signatures[0]", "signatures[1]", "signatures[2]"]
    assert all(check.kind == "eth_sign" for check in packed)
    assert tuple(check.recovered for check in packed) == BYBIT_SIGNERS
    assert list(BYBIT_SIGNERS) == sorted(BYBIT_SIGNERS)
    # Without the owners from the operator, the record's word is all there is: consistent, but not verified.
    assert all(check.valid is None for check in packed)
    assert codes(report.findings).count("SIGNER_UNVERIFIED") == 6
    confirmations = [check for check in report.signatures if check.source.startswith("confirmations[")]
    assert len(confirmations) == 3
    assert all(check.valid is None and check.recovered == check.stated_owner for check in confirmations)
    for code in ("SIGNATURE_ORDER", "SIGNATURE_MISMATCH", "SIGNATURE_MALFORMED"):
        assert code not in codes(report.findings)
    with_owners = _verify(_bybit(0), _context("1.1.1")._replace(owners=frozenset(BYBIT_SIGNERS), threshold=3))
    assert all(check.valid is True for check in with_owners.signatures)
    for code in ("SIGNER_UNVERIFIED", "QUORUM_NOT_MET", "SIGNATURE_MISMATCH"):
        assert code not in codes(with_owners.findings)
    # Each signature is v = 0x1f: eth_sign, 27 + 4.
    assert {item.v for item in split_signatures(parse_safe_tx_record(_bybit(0)).signatures)} == {0x1F}


def test_bybit_executed_with_1_3_0_rules_gives_the_wrong_hash_and_a_mismatch() -> None:
    report = _verify(_bybit(0), _context("1.3.0"))
    assert report.hashes.safe_tx_hash == _h(WRONG_RULES_HASH)
    mismatch = [item for item in report.findings if item.code == "HASH_MISMATCH"]
    assert len(mismatch) == 1
    assert mismatch[0].severity is Severity.CRITICAL
    assert dict(mismatch[0].details) == {"claimed": _h(EXECUTED_HASH), "computed": _h(WRONG_RULES_HASH)}
    # Against the wrong hash, no signature recovers to an owner.
    assert not any(check.valid for check in report.signatures)


def test_versions_matching_the_claimed_hash() -> None:
    tx = parse_safe_tx_record(_bybit(0)).tx
    assert versions_matching_hash(tx, 1, _h(EXECUTED_HASH)) == ("1.0.0", "1.1.0", "1.1.1", "1.2.0")
    assert versions_matching_hash(tx, 1, _h(WRONG_RULES_HASH)) == ("1.3.0", "1.4.0", "1.4.1", "1.5.0")
    assert versions_matching_hash(tx, 1, bytes(32)) == ()


# --- Bybit: the displayed transaction --------------------------------------------------------------------


def test_bybit_displayed_transaction_every_confirmation_mismatches() -> None:
    report = _verify(_bybit(1), _context("1.1.1"))
    assert report.hashes.safe_tx_hash == _h(SHOWN_HASH)
    assert "HASH_MISMATCH" not in codes(report.findings)
    assert report.call.kind == "native_transfer"
    assert report.call.value == 30_000 * 10**18
    assert report.call.operation == 0
    assert "30,000 ETH" in report.call.to_json()["summary"]["en"]

    mismatch_paths = {item.path for item in report.findings if item.code == "SIGNATURE_MISMATCH"}
    assert {"confirmations[0]", "confirmations[1]", "confirmations[2]"} <= mismatch_paths
    assert all(item.severity is Severity.CRITICAL for item in report.findings if item.code == "SIGNATURE_MISMATCH")
    confirmations = [check for check in report.signatures if check.source.startswith("confirmations[")]
    assert len(confirmations) == 3
    for check in confirmations:
        assert check.valid is False
        assert check.stated_owner in BYBIT_SIGNERS
        assert check.recovered is not None
        assert check.recovered not in BYBIT_SIGNERS
    assert report.verdict.blocked is True


def test_bybit_displayed_signatures_recover_to_owners_only_against_the_executed_hash() -> None:
    """The confirmations shown beside the 30,000 ETH transfer were made for results[0]'s hash."""
    shown = parse_safe_tx_record(_bybit(1))
    executed = safe_tx_hashes(parse_safe_tx_record(_bybit(0)).tx, parse_safe_version("1.1.1"), 1)
    for confirmation in shown.confirmations:
        (signature,) = split_signatures(confirmation.signature)
        assert recover_signer(signature, executed.safe_tx_hash, executed.eth_sign_digest) == confirmation.owner


# --- Bybit with the operator's owners file ------------------------------------------------------------


def _bybit_book() -> SafeBook:
    others = ["0x" + "a1" * 20, "0x" + "b2" * 20, "0x" + "c3" * 20]
    return SafeBook.from_document(
        {
            "safes": [
                {
                    "address": to_checksum_address(BYBIT_SAFE),
                    "chain_id": 1,
                    "version": "1.1.1",
                    "owners": [to_checksum_address(owner) for owner in BYBIT_SIGNERS] + others,
                    "threshold": 3,
                }
            ]
        }
    )


def test_bybit_executed_signatures_valid_with_an_owners_file() -> None:
    context = resolve_context(BYBIT_SAFE, 1, None, _bybit_book())
    assert context.version.text == "1.1.1"
    assert context.threshold == 3
    assert context.owners is not None
    assert set(BYBIT_SIGNERS) <= context.owners
    report = _verify(_bybit(0), context)
    assert len(report.signatures) == 6
    assert all(check.valid is True for check in report.signatures)
    assert "QUORUM_NOT_MET" not in codes(report.findings)
    assert "SIGNATURE_MISMATCH" not in codes(report.findings)
    assert report.verdict.blocked is True  # still the untrusted DELEGATECALL


def test_bybit_displayed_with_owners_file_has_no_valid_signature() -> None:
    report = _verify(_bybit(1), resolve_context(BYBIT_SAFE, 1, None, _bybit_book()))
    assert not any(check.valid for check in report.signatures)
    quorum = [item for item in report.findings if item.code == "QUORUM_NOT_MET"]
    assert len(quorum) == 1
    assert dict(quorum[0].details) == {"valid": 0, "threshold": 3}


# --- Bybit: the call data that was executed ------------------------------------------------------------


def test_bybit_exec_transaction_calldata_is_the_data_of_the_executed_transaction() -> None:
    record = _bybit(0)
    assert "0x" + keccak(BYBIT_RAW_TX).hex() == record["transactionHash"]
    assert Account.recover_transaction(BYBIT_RAW_TX) == record["executor"] == ATTACKER_EXECUTOR
    nonce, gas_price, gas, to, value, data, v, _r, _s = rlp.decode(BYBIT_RAW_TX)
    assert to == BYBIT_SAFE
    assert value == b""
    assert int.from_bytes(gas_price, "big") == int(record["ethGasPrice"])
    assert int.from_bytes(v, "big") == 37  # EIP-155, chain id 1

    report = _verify(record, _context("1.1.1"))
    assert report.exec_calldata == data
    body = report.to_json()
    assert body["exec_transaction_calldata"] == "0x" + data.hex()
    assert body["exec_transaction_calldata_hash"] == "0x" + keccak(data).hex()

    tx = parse_safe_tx_record(record).tx
    expected = exec_transaction_reference(tx, _h(record["signatures"]))
    assert report.exec_calldata == expected
    assert len(nonce) == 1
    assert int.from_bytes(gas, "big") == 200_000


# --- signatures on generated keys --------------------------------------------------------------------------

SAFE = bytes.fromhex("5afe" * 10)
KEYS = [Account.from_key(keccak(f"mamori owner {i}".encode())) for i in range(6)]
OWNER_KEYS = sorted(KEYS[:4], key=lambda account: bytes.fromhex(account.address[2:]))
OUTSIDER = KEYS[5]


def _base_record(**fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "safe": to_checksum_address(SAFE),
        "to": "0x" + "11" * 20,
        "value": "1000",
        "data": None,
        "operation": 0,
        "safeTxGas": 0,
        "baseGas": 0,
        "gasPrice": "0",
        "nonce": 5,
    }
    record.update(fields)
    return record


def _hashes(record: dict[str, Any], version: str = "1.3.0") -> tuple[bytes, bytes]:
    hashes = safe_tx_hashes(parse_safe_tx_record(record).tx, parse_safe_version(version), 1)
    return hashes.safe_tx_hash, hashes.eth_sign_digest


def _eoa_sig(account: Any, safe_tx_hash: bytes) -> bytes:
    signed = Account.unsafe_sign_hash(safe_tx_hash, account.key)
    return signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes((signed.v,))


def _eth_sign_sig(account: Any, safe_tx_hash: bytes) -> bytes:
    signed = Account.sign_message(encode_defunct(primitive=safe_tx_hash), account.key)
    return signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes((signed.v + 4,))


def _address(account: Any) -> bytes:
    return bytes.fromhex(account.address[2:])


def only(findings: tuple[Finding, ...], code: str) -> Finding:
    matching = [item for item in findings if item.code == code]
    assert len(matching) == 1, [item.code for item in findings]
    return matching[0]


def _owners() -> frozenset[bytes]:
    return frozenset(_address(account) for account in OWNER_KEYS)


def _static(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((v,))


def _verify_with(
    record: dict[str, Any], owners: frozenset[bytes] | None = None, threshold: int | None = None
) -> SafeTxReport:
    return _verify(record, _context("1.3.0", owners, threshold))


def test_valid_eoa_and_eth_sign_signatures_with_owners() -> None:
    record = _base_record()
    safe_tx_hash, _ = _hashes(record)
    packed = _eoa_sig(OWNER_KEYS[0], safe_tx_hash) + _eth_sign_sig(OWNER_KEYS[1], safe_tx_hash)
    record["signatures"] = "0x" + packed.hex()
    report = _verify_with(record, _owners(), 2)
    assert [(c.kind, c.recovered, c.valid) for c in report.signatures] == [
        ("eoa", _address(OWNER_KEYS[0]), True),
        ("eth_sign", _address(OWNER_KEYS[1]), True),
    ]
    assert report.findings == ()
    assert report.verdict.label == "ok"
    assert report.exec_calldata is not None
    assert report.exec_calldata.endswith(packed + bytes(-len(packed) % 32))


def test_signer_outside_the_owners_is_not_an_owner() -> None:
    record = _base_record()
    safe_tx_hash, _ = _hashes(record)
    record["signatures"] = "0x" + _eoa_sig(OUTSIDER, safe_tx_hash).hex()
    report = _verify_with(record, _owners(), 1)
    assert report.signatures[0].valid is False
    assert report.signatures[0].recovered == _address(OUTSIDER)
    assert only(report.findings, "SIGNER_NOT_OWNER").severity is Severity.CRITICAL
    assert "QUORUM_NOT_MET" in codes(report.findings)
    assert report.verdict.blocked is True


def test_signer_without_owner_knowledge_is_unverified() -> None:
    record = _base_record()
    safe_tx_hash, _ = _hashes(record)
    record["signatures"] = "0x" + _eoa_sig(OUTSIDER, safe_tx_hash).hex()
    report = _verify_with(record)
    assert report.signatures[0].valid is None
    assert [item.code for item in report.findings] == ["SIGNER_UNVERIFIED"]
    assert report.findings[0].severity is Severity.HIGH  # a signature nobody can vouch for blocks signing
    assert report.verdict.blocked is True


def test_unsorted_signers_give_signature_order() -> None:
    record = _base_record()
    safe_tx_hash, _ = _hashes(record)
    descending = list(reversed(OWNER_KEYS[:3]))
    record["signatures"] = "0x" + b"".join(_eoa_sig(account, safe_tx_hash) for account in descending).hex()
    report = _verify_with(record, _owners(), 3)
    assert all(check.valid for check in report.signatures)
    order = [item for item in report.findings if item.code == "SIGNATURE_ORDER"]
    assert len(order) == 1
    assert order[0].severity is Severity.MEDIUM
    assert "QUORUM_NOT_MET" not in codes(report.findings)

    # The same signer twice is not strictly ascending either.
    record["signatures"] = "0x" + (_eoa_sig(OWNER_KEYS[0], safe_tx_hash) * 2).hex()
    assert "SIGNATURE_ORDER" in codes(_verify_with(record, _owners(), 1).findings)

    ascending = OWNER_KEYS[:3]
    record["signatures"] = "0x" + b"".join(_eoa_sig(account, safe_tx_hash) for account in ascending).hex()
    assert "SIGNATURE_ORDER" not in codes(_verify_with(record, _owners(), 3).findings)


def test_contract_signature_is_parsed_and_unverified() -> None:
    contract_owner = bytes.fromhex("c0" * 20)
    contract_data = b"\x12" * 77
    record = _base_record()
    safe_tx_hash, _ = _hashes(record)
    eoa = _eoa_sig(OWNER_KEYS[3], safe_tx_hash)
    ordered_first = contract_owner < _address(OWNER_KEYS[3])
    statics = [_static(int.from_bytes(contract_owner, "big"), 130, 0), eoa]
    if not ordered_first:
        statics.reverse()
    packed = b"".join(statics) + len(contract_data).to_bytes(32, "big") + contract_data
    record["signatures"] = "0x" + packed.hex()
    report = _verify_with(record, _owners() | {contract_owner}, 2)
    contract_checks = [check for check in report.signatures if check.kind == "contract"]
    assert len(contract_checks) == 1
    assert contract_checks[0].valid is None
    assert contract_checks[0].recovered == contract_owner
    unverified = [item for item in report.findings if item.code == "CONTRACT_SIGNATURE_UNVERIFIED"]
    assert len(unverified) == 1
    assert unverified[0].severity is Severity.MEDIUM
    assert dict(unverified[0].details)["owner"] == contract_owner
    assert "SIGNATURE_MALFORMED" not in codes(report.findings)
    assert "SIGNATURE_ORDER" not in codes(report.findings)
    assert report.exec_calldata is not None and packed in report.exec_calldata


def test_approved_hash_signature() -> None:
    owner = _address(OWNER_KEYS[2])
    record = _base_record(signatures="0x" + _static(int.from_bytes(owner, "big"), 0, 1).hex())
    report = _verify_with(record, _owners(), 1)
    (check,) = report.signatures
    assert (check.kind, check.recovered, check.valid) == ("approved_hash", owner, None)
    assert codes(report.findings).count("APPROVED_HASH_UNVERIFIED") == 1
    # One valid signer is needed, an unverifiable approval does not count.
    assert "QUORUM_NOT_MET" in codes(report.findings)

    # The Safe Transaction Service records an on-chain approval as a confirmation without signature bytes.
    record = _base_record(
        confirmations=[{"owner": to_checksum_address(owner), "signature": None, "signatureType": "APPROVED_HASH"}]
    )
    report = _verify_with(record, _owners())
    (check,) = report.signatures
    assert (check.kind, check.stated_owner, check.valid) == ("approved_hash", owner, None)
    assert report.exec_calldata is not None
    assert _static(int.from_bytes(owner, "big"), 0, 1) in report.exec_calldata


def test_approved_hash_by_a_non_owner_is_not_an_owner() -> None:
    record = _base_record(signatures="0x" + _static(int.from_bytes(b"\x77" * 20, "big"), 0, 1).hex())
    report = _verify_with(record, _owners(), 1)
    assert report.signatures[0].valid is False
    assert "SIGNER_NOT_OWNER" in codes(report.findings)


@pytest.mark.parametrize(
    "packed",
    [
        _static(1, 2, 27) + b"\x00",  # stray byte
        _static(1, 2, 27) + bytes(40),
        _static(1, 2, 5),  # v = 5
        _static(1, 2, 30),
        _static(5, 0, 0),  # contract data offset into the static part
        _static(5, 64, 0) + bytes(32),
        _static(5, 65, 0) + (99).to_bytes(32, "big"),  # contract data runs past the end
        _static(1 << 200, 0, 1),  # approved-hash owner wider than an address
        bytes(1),
    ],
)
def test_malformed_packed_signatures_are_a_critical_finding_not_an_exception(packed: bytes) -> None:
    report = _verify_with(_base_record(signatures="0x" + packed.hex()), _owners(), 1)
    malformed = [item for item in report.findings if item.code == "SIGNATURE_MALFORMED"]
    assert len(malformed) == 1
    assert malformed[0].severity is Severity.CRITICAL
    assert malformed[0].path == "signatures"
    assert report.verdict.blocked is True


@pytest.mark.parametrize(
    "signature",
    [
        "0x" + _static(1, 2, 9).hex(),
        "0x" + (_static(1, 2, 27) * 2).hex(),  # two signatures in one confirmation
        "0x" + _static(0, 2, 27).hex(),  # r = 0: nothing recovers
        "0x" + bytes(10).hex(),
        None,  # no bytes and not an approved hash
    ],
)
def test_malformed_confirmation_is_a_critical_finding(signature: str | None) -> None:
    owner = to_checksum_address(_address(OWNER_KEYS[0]))
    record = _base_record(confirmations=[{"owner": owner, "signature": signature, "signatureType": "EOA"}])
    report = _verify_with(record, _owners())
    malformed = [item for item in report.findings if item.code == "SIGNATURE_MALFORMED"]
    assert len(malformed) == 1
    assert malformed[0].path == "confirmations[0]"
    assert report.signatures[0].valid is False
    assert report.verdict.blocked is True


def test_confirmation_signed_by_someone_else_is_a_mismatch() -> None:
    record = _base_record()
    safe_tx_hash, _ = _hashes(record)
    record["confirmations"] = [
        {
            "owner": to_checksum_address(_address(OWNER_KEYS[0])),
            "signature": "0x" + _eoa_sig(OUTSIDER, safe_tx_hash).hex(),
            "signatureType": "EOA",
        }
    ]
    report = _verify_with(record)
    mismatch = [item for item in report.findings if item.code == "SIGNATURE_MISMATCH"]
    assert len(mismatch) == 1
    assert dict(mismatch[0].details)["recovered"] == _address(OUTSIDER)
    assert dict(mismatch[0].details)["expected"] == _address(OWNER_KEYS[0])


def test_exec_calldata_from_confirmations_sorts_by_owner() -> None:
    record = _base_record()
    safe_tx_hash, _ = _hashes(record)
    chosen = [OWNER_KEYS[2], OWNER_KEYS[0], OWNER_KEYS[1]]  # submission order, not owner order
    record["confirmations"] = [
        {
            "owner": account.address,
            "signature": "0x" + _eth_sign_sig(account, safe_tx_hash).hex(),
            "signatureType": "ETH_SIGN",
        }
        for account in chosen
    ]
    record["confirmationsRequired"] = 3
    report = _verify_with(record, _owners())
    assert all(check.valid for check in report.signatures)
    assert report.findings == ()
    expected = b"".join(_eth_sign_sig(account, safe_tx_hash) for account in OWNER_KEYS[:3])
    assert report.exec_calldata is not None
    assert report.exec_calldata.endswith(expected + bytes(-len(expected) % 32))


def test_quorum_from_record_when_no_threshold_is_known() -> None:
    record = _base_record(confirmationsRequired=2)
    safe_tx_hash, _ = _hashes(record)
    record["confirmations"] = [
        {"owner": OWNER_KEYS[0].address, "signature": "0x" + _eoa_sig(OWNER_KEYS[0], safe_tx_hash).hex()}
    ]
    report = _verify_with(record, _owners())
    quorum = [item for item in report.findings if item.code == "QUORUM_NOT_MET"]
    assert len(quorum) == 1
    assert quorum[0].severity is Severity.INFO
    assert dict(quorum[0].details) == {"valid": 1, "threshold": 2}


# --- context: the operator's Safe file, options, and the record ----------------------------------------------


def test_resolve_context_rules() -> None:
    book = SafeBook.from_document(
        {
            "safes": [
                {"address": to_checksum_address(SAFE), "version": "1.3.0", "owners": [KEYS[0].address], "threshold": 1},
                {"address": to_checksum_address(SAFE), "chain_id": 10, "version": "1.4.1"},
            ]
        }
    )
    generic = resolve_context(SAFE, 1, None, book)
    assert (generic.version.text, generic.threshold, generic.owners) == ("1.3.0", 1, frozenset({_address(KEYS[0])}))
    specific = resolve_context(SAFE, 10, "1.4.1", book)
    assert (specific.version.text, specific.owners) == ("1.4.1", None)
    with pytest.raises(ContextError) as info:  # a Safe file that does not know this Safe is not silently ignored
        resolve_context(b"\x01" * 20, 1, "1.2.0", book)
    assert info.value.code == "SAFE_NOT_IN_FILE"

    with pytest.raises(ContextError) as info:
        resolve_context(SAFE, 1, "1.4.1", book)
    assert info.value.code == "CONTEXT_CONFLICT"
    with pytest.raises(ContextError) as info:
        resolve_context(b"\x01" * 20, 1, None, None)
    assert info.value.code == "SAFE_VERSION_REQUIRED"
    with pytest.raises(ContextError) as info:
        resolve_context(SAFE, 0, "1.3.0", None)
    assert info.value.code == "CHAIN_ID_INVALID"


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"safes": {}},
        {"safes": ["0x" + "11" * 20]},
        {"safes": [{"address": "0x" + "11" * 19}]},
        {"safes": [{"address": "0x" + "11" * 20, "owners": []}]},
        {"safes": [{"address": "0x" + "11" * 20, "owners": ["0x" + "22" * 20], "threshold": 2}]},
        {"safes": [{"address": "0x" + "11" * 20, "owners": ["0x" + "22" * 20], "threshold": 0}]},
        {"safes": [{"address": "0x" + "11" * 20, "chain_id": -1}]},
    ],
)
def test_invalid_safe_files(document: object) -> None:
    with pytest.raises(ContextError) as info:
        SafeBook.from_document(document)
    assert info.value.code == "SAFES_FILE_INVALID"


def test_missing_version_error_hints_at_matching_versions() -> None:
    with pytest.raises(ContextError) as info:
        verify_safe_record(_bybit(0), chain_id=1, safe_version=None, book=None, registry=EMPTY_REGISTRY)
    assert info.value.code == "SAFE_VERSION_REQUIRED"
    assert "1.1.1" in info.value.message_en


def _record_for_chain(chain_id: int, version: str) -> dict[str, Any]:
    record = _base_record(safe=to_checksum_address(BYBIT_SAFE), nonce=72)
    tx = parse_safe_tx_record(record).tx
    record["safeTxHash"] = "0x" + safe_tx_hashes(tx, parse_safe_version(version), chain_id).safe_tx_hash.hex()
    return record


@pytest.mark.parametrize(
    ("field", "value", "version_for_hash", "chain_for_hash"),
    [("chain_id", 137, "1.3.0", 137), ("safe_version", "1.1.1", "1.1.1", 1)],
)
def test_a_record_cannot_override_the_operators_context(
    field: str, value: object, version_for_hash: str, chain_for_hash: int
) -> None:
    record = _record_for_chain(chain_for_hash, version_for_hash)
    record[field] = value
    try:
        report = verify_safe_record(record, chain_id=1, safe_version="1.3.0", book=None, registry=EMPTY_REGISTRY)
    except ContextError as exc:
        assert exc.code == "CONTEXT_CONFLICT"
        return
    overridden = report.chain_id != 1 or report.version.text != "1.3.0"
    assert not overridden or {"CHAIN_ID_MISMATCH", "HASH_MISMATCH"} & set(codes(report.findings))

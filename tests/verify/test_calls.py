"""Call decoding: what a Safe transaction really does, and the finding each dangerous shape must raise.

Call data is built with eth-abi and selectors with eth-hash, independently of mamori's function table. The
contract registry is built here from the canonical addresses, so these tests do not depend on the shipped
safe_deployments.json.
"""

from __future__ import annotations

from typing import Any

import eth_abi
import pytest
from eth_hash.auto import keccak

from mamori.chains.evm.encoding import to_checksum_address
from mamori.chains.evm.safe.multisend import MultiSendEntry, encode_multisend
from mamori.chains.evm.safe.record import parse_safe_tx_record
from mamori.chains.evm.safe.versions import parse_safe_version
from mamori.verify.calls import CallContext, decode_call
from mamori.verify.context import SafeContext
from mamori.verify.model import CallNode, Finding, Severity
from mamori.verify.registry import ContractRegistry
from mamori.verify.safe import SafeTxReport, verify_safe_tx

SAFE = bytes.fromhex("1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4")
OTHER_SAFE = bytes.fromhex("5a" * 20)
TOKEN = bytes.fromhex("A0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48")  # USDC on mainnet
ALICE = bytes.fromhex("11" * 20)
BOB = bytes.fromhex("22" * 20)
ATTACKER = bytes.fromhex("96221423681A6d52E184D440a8eFCEbB105C7242")

MULTISEND_CALL_ONLY = bytes.fromhex("40A2aCCbd92BCA938b02010E17A5b8929b49130D")
MULTISEND = bytes.fromhex("A238CBeb142c10Ef7Ad8442C6D1f9E89e07e7761")
SIGN_MESSAGE_LIB = bytes.fromhex("A65387F16B013cf2Af4605Ad8aA5ec25a2cbA3a2")
SAFE_MIGRATION = bytes.fromhex("526643F69b81B008F46d95CD5ced5eC0edFFDaC6")
SAFE_TO_L2_MIGRATION = bytes.fromhex("fF83F6335d8930cBad1c0D439A841f01888D9f69")
MULTISEND_CALL_ONLY_150 = bytes.fromhex("A83c336B20401Af773B6219BA5027174338D1836")


def _entry(name: str, version: str, address: bytes, role: str) -> dict[str, str]:
    return {
        "name": name,
        "version": version,
        "variant": "canonical",
        "address": to_checksum_address(address),
        "role": role,
    }


REGISTRY = ContractRegistry.from_document(
    {
        "contracts": [
            _entry("MultiSendCallOnly", "1.3.0", MULTISEND_CALL_ONLY, "multisend_call_only"),
            _entry("MultiSend", "1.3.0", MULTISEND, "multisend"),
            _entry("SignMessageLib", "1.3.0", SIGN_MESSAGE_LIB, "sign_message_lib"),
            _entry("SafeMigration", "1.4.1", SAFE_MIGRATION, "safe_migration"),
            _entry("SafeToL2Migration", "1.4.1", SAFE_TO_L2_MIGRATION, "safe_to_l2_migration"),
            _entry("MultiSendCallOnly", "1.5.0", MULTISEND_CALL_ONLY_150, "multisend_call_only"),
        ]
    }
)
UINT256_MAX = 2**256 - 1


def abi_call(signature: str, *args: Any) -> bytes:
    types = signature[signature.index("(") + 1 : -1]
    arg_types = [t for t in types.split(",") if t]
    return keccak(signature.encode())[:4] + eth_abi.encode(arg_types, list(args))


def multisend(*entries: tuple[int, bytes, int, bytes]) -> bytes:
    packed = encode_multisend([MultiSendEntry(op, to, value, data) for op, to, value, data in entries])
    return abi_call("multiSend(bytes)", packed)


def decode(
    operation: int, to: bytes, data: bytes = b"", value: int = 0, wallet: bytes = SAFE
) -> tuple[CallNode, list[Finding]]:
    findings: list[Finding] = []
    node = decode_call(operation, to, value, data, CallContext(wallet=wallet, registry=REGISTRY), "call", findings)
    node.to_json()  # the tree must always serialise
    for item in findings:
        item.to_json()
    return node, findings


def summary(node: CallNode) -> str:
    text: str = node.to_json()["summary"]["en"]
    return text


def codes(findings: list[Finding] | tuple[Finding, ...]) -> list[str]:
    return sorted(item.code for item in findings)


def only(findings: list[Finding] | tuple[Finding, ...], code: str) -> Finding:
    matching = [item for item in findings if item.code == code]
    assert len(matching) == 1, codes(findings)
    return matching[0]


def verify(
    to: bytes,
    data: bytes = b"",
    *,
    operation: int = 0,
    value: int = 0,
    gas_price: int = 0,
    base_gas: int = 0,
    gas_token: bytes = bytes(20),
    refund_receiver: bytes = bytes(20),
) -> SafeTxReport:
    record = parse_safe_tx_record(
        {
            "safe": to_checksum_address(SAFE),
            "to": to_checksum_address(to),
            "value": str(value),
            "data": "0x" + data.hex() if data else None,
            "operation": operation,
            "safeTxGas": 0,
            "baseGas": str(base_gas),
            "gasPrice": str(gas_price),
            "gasToken": to_checksum_address(gas_token),
            "refundReceiver": to_checksum_address(refund_receiver),
            "nonce": 7,
        }
    )
    report = verify_safe_tx(record, SafeContext(chain_id=1, version=parse_safe_version("1.3.0")), REGISTRY)
    report.to_json()
    return report


# --- Safe self-calls -------------------------------------------------------------------------------------

ADMIN_CASES = [
    ("addOwnerWithThreshold(address,uint256)", (ALICE, 2), "safe_add_owner", {"OWNER_CHANGE", "THRESHOLD_CHANGE"}),
    (
        "removeOwner(address,address,uint256)",
        (ALICE, BOB, 1),
        "safe_remove_owner",
        {"OWNER_CHANGE", "THRESHOLD_CHANGE"},
    ),
    ("swapOwner(address,address,address)", (ALICE, BOB, ATTACKER), "safe_swap_owner", {"OWNER_CHANGE"}),
    ("changeThreshold(uint256)", (1,), "safe_change_threshold", {"THRESHOLD_CHANGE"}),
    ("enableModule(address)", (ATTACKER,), "safe_enable_module", {"MODULE_CHANGE"}),
    ("disableModule(address,address)", (ALICE, BOB), "safe_disable_module", {"MODULE_CHANGE"}),
    ("setGuard(address)", (ATTACKER,), "safe_set_guard", {"GUARD_CHANGE"}),
    ("setModuleGuard(address)", (ATTACKER,), "safe_set_module_guard", {"GUARD_CHANGE"}),
    ("setFallbackHandler(address)", (ATTACKER,), "safe_set_fallback_handler", {"FALLBACK_HANDLER_CHANGE"}),
    ("changeMasterCopy(address)", (ATTACKER,), "safe_change_master_copy", {"IMPLEMENTATION_CHANGE"}),
]
EXPECTED_SEVERITY = {
    "OWNER_CHANGE": Severity.HIGH,
    "THRESHOLD_CHANGE": Severity.HIGH,
    "MODULE_CHANGE": Severity.HIGH,
    "GUARD_CHANGE": Severity.HIGH,
    "FALLBACK_HANDLER_CHANGE": Severity.HIGH,
    "IMPLEMENTATION_CHANGE": Severity.CRITICAL,
}


@pytest.mark.parametrize(("signature", "args", "kind", "expected"), ADMIN_CASES, ids=[c[0] for c in ADMIN_CASES])
def test_safe_self_call_findings(signature: str, args: tuple[Any, ...], kind: str, expected: set[str]) -> None:
    node, findings = decode(0, SAFE, abi_call(signature, *args))
    assert node.kind == kind
    assert node.function == signature
    assert tuple(arg.value for arg in node.args) == args
    assert set(codes(findings)) == expected
    assert len(findings) == len(expected)
    for item in findings:
        assert item.severity is EXPECTED_SEVERITY[item.code]
        assert item.path == "call"

    report = verify(SAFE, abi_call(signature, *args))
    assert report.verdict.blocked is True
    assert report.verdict.label == "blocked"
    assert set(codes(report.findings)) == expected


@pytest.mark.parametrize(("signature", "args", "kind", "expected"), ADMIN_CASES, ids=[c[0] for c in ADMIN_CASES])
def test_same_admin_call_to_another_contract_is_not_a_change(
    signature: str, args: tuple[Any, ...], kind: str, expected: set[str]
) -> None:
    node, findings = decode(0, OTHER_SAFE, abi_call(signature, *args))
    assert node.kind == "safe_admin_foreign"
    assert findings == []
    assert not set(codes(verify(OTHER_SAFE, abi_call(signature, *args)).findings)) & set(EXPECTED_SEVERITY)


def test_finding_details_name_the_new_values() -> None:
    _, findings = decode(0, SAFE, abi_call("enableModule(address)", ATTACKER))
    module_change = only(findings, "MODULE_CHANGE")
    assert dict(module_change.details)["module"] == ATTACKER
    assert to_checksum_address(ATTACKER) in module_change.message_en
    assert module_change.message_ja
    _, findings = decode(0, SAFE, abi_call("changeThreshold(uint256)", 9))
    assert dict(only(findings, "THRESHOLD_CHANGE").details)["threshold"] == 9
    _, findings = decode(0, SAFE, abi_call("changeMasterCopy(address)", ATTACKER))
    assert dict(only(findings, "IMPLEMENTATION_CHANGE").details)["target"] == ATTACKER


# --- ERC-20 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signature", "args", "kind", "names"),
    [
        ("transfer(address,uint256)", (ALICE, 10**6), "erc20_transfer", ("to", "amount")),
        ("approve(address,uint256)", (BOB, 5), "erc20_approve", ("spender", "amount")),
        ("transferFrom(address,address,uint256)", (ALICE, BOB, 7), "erc20_transfer_from", ("from", "to", "amount")),
        ("increaseAllowance(address,uint256)", (BOB, 3), "erc20_increase_allowance", ("spender", "amount")),
    ],
)
def test_erc20_calls_decode_with_exact_args(
    signature: str, args: tuple[Any, ...], kind: str, names: tuple[str, ...]
) -> None:
    node, findings = decode(0, TOKEN, abi_call(signature, *args))
    assert node.kind == kind
    assert node.to == TOKEN
    assert node.function == signature
    assert tuple((arg.name, arg.value) for arg in node.args) == tuple(zip(names, args, strict=True))
    assert findings == []
    assert str(args[-1]) in summary(node)
    assert to_checksum_address(TOKEN) in summary(node)


@pytest.mark.parametrize("signature", ["approve(address,uint256)", "increaseAllowance(address,uint256)"])
@pytest.mark.parametrize(
    ("amount", "flagged"), [(UINT256_MAX, True), (2**128 - 1, True), (2**128 - 2, False), (10**24, False)]
)
def test_unlimited_approval(signature: str, amount: int, flagged: bool) -> None:
    _, findings = decode(0, TOKEN, abi_call(signature, ATTACKER, amount))
    if flagged:
        item = only(findings, "UNLIMITED_APPROVAL")
        assert item.severity is Severity.HIGH
        assert dict(item.details) == {"spender": ATTACKER, "token": TOKEN}
    else:
        assert findings == []


def test_transfer_of_unlimited_amount_is_not_an_approval() -> None:
    _, findings = decode(0, TOKEN, abi_call("transfer(address,uint256)", ALICE, UINT256_MAX))
    assert findings == []


def test_noncanonical_and_malformed_erc20_calldata() -> None:
    data = abi_call("transfer(address,uint256)", ALICE, 1)
    node, findings = decode(0, TOKEN, data + b"\x00" * 32)
    assert node.kind == "erc20_transfer"
    assert only(findings, "CALLDATA_NONCANONICAL").severity is Severity.MEDIUM

    dirty = bytearray(data)
    dirty[4] = 0xFF  # high byte of the address word
    node, findings = decode(0, TOKEN, bytes(dirty))
    assert node.kind == "malformed"
    assert only(findings, "CALLDATA_MALFORMED").severity is Severity.CRITICAL

    node, findings = decode(0, TOKEN, data[:-1])
    assert only(findings, "CALLDATA_MALFORMED").severity is Severity.CRITICAL


# --- multiSend -------------------------------------------------------------------------------------------


def test_multisend_call_only_decoded_recursively_with_inner_owner_change() -> None:
    data = multisend(
        (0, ALICE, 10**18, b""),
        (0, SAFE, 0, abi_call("addOwnerWithThreshold(address,uint256)", ATTACKER, 1)),
        (0, TOKEN, 0, abi_call("transfer(address,uint256)", BOB, 5)),
    )
    node, findings = decode(1, MULTISEND_CALL_ONLY, data)
    assert node.kind == "multisend"
    assert node.to_label == "MultiSendCallOnly 1.3.0"
    assert [child.kind for child in node.calls] == ["native_transfer", "safe_add_owner", "erc20_transfer"]
    assert node.calls[0].value == 10**18
    assert node.calls[1].args[0].value == ATTACKER
    assert codes(findings) == ["OWNER_CHANGE", "THRESHOLD_CHANGE"]
    assert {item.path for item in findings} == {"call.calls[1]"}

    report = verify(MULTISEND_CALL_ONLY, data, operation=1)
    assert report.verdict.blocked is True
    assert "DELEGATECALL_UNTRUSTED" not in codes(report.findings)
    json_calls = report.to_json()["call"]["calls"]
    assert [c["kind"] for c in json_calls] == ["native_transfer", "safe_add_owner", "erc20_transfer"]


def test_multisend_call_only_inner_delegatecall_is_invalid() -> None:
    data = multisend(
        (0, TOKEN, 0, abi_call("transfer(address,uint256)", BOB, 5)),
        (1, ATTACKER, 0, abi_call("transfer(address,uint256)", BOB, 0)),
    )
    _, findings = decode(1, MULTISEND_CALL_ONLY, data)
    invalid = only(findings, "INVALID_OPERATION")
    assert invalid.severity is Severity.CRITICAL
    assert invalid.path == "call.calls[1]"
    assert only(findings, "DELEGATECALL_UNTRUSTED").path == "call.calls[1]"


def test_multisend_call_only_inner_delegatecall_to_trusted_library_is_still_invalid() -> None:
    data = multisend((1, SIGN_MESSAGE_LIB, 0, abi_call("signMessage(bytes)", b"hello")))
    _, findings = decode(1, MULTISEND_CALL_ONLY, data)
    assert only(findings, "INVALID_OPERATION").path == "call.calls[0]"
    assert "DELEGATECALL_UNTRUSTED" not in codes(findings)


def test_multisend_inner_untrusted_delegatecall() -> None:
    data = multisend(
        (0, ALICE, 1, b""),
        (1, ATTACKER, 0, abi_call("transfer(address,uint256)", BOB, 0)),
    )
    node, findings = decode(1, MULTISEND, data)
    assert node.kind == "multisend"
    assert node.calls[1].kind == "delegatecall_untrusted"
    item = only(findings, "DELEGATECALL_UNTRUSTED")
    assert item.severity is Severity.CRITICAL
    assert item.path == "call.calls[1]"
    assert dict(item.details)["target"] == ATTACKER
    assert "INVALID_OPERATION" not in codes(findings)
    assert verify(MULTISEND, data, operation=1).verdict.blocked is True


def test_multisend_inner_operation_2_is_invalid() -> None:
    _, findings = decode(1, MULTISEND, multisend((2, ALICE, 0, b"")))
    assert only(findings, "INVALID_OPERATION").path == "call.calls[0]"


def test_truncated_multisend_is_malformed() -> None:
    packed = encode_multisend([MultiSendEntry(0, ALICE, 1, b"\x01\x02\x03")])
    for cut in (1, len(packed) - 1):
        data = abi_call("multiSend(bytes)", packed[:cut])
        node, findings = decode(1, MULTISEND_CALL_ONLY, data)
        assert node.kind == "malformed"
        item = only(findings, "CALLDATA_MALFORMED")
        assert item.severity is Severity.CRITICAL
        assert verify(MULTISEND_CALL_ONLY, data, operation=1).verdict.blocked is True


def test_nested_batches_are_decoded_and_depth_is_bounded() -> None:
    inner = multisend((0, SAFE, 0, abi_call("changeThreshold(uint256)", 1)))
    data = multisend((1, MULTISEND, 0, inner))
    node, findings = decode(1, MULTISEND, data)
    assert node.calls[0].calls[0].kind == "safe_change_threshold"
    assert only(findings, "THRESHOLD_CHANGE").path == "call.calls[0].calls[0]"

    deep = abi_call("changeThreshold(uint256)", 1)
    deep = multisend((0, SAFE, 0, deep))
    for _ in range(30):
        deep = multisend((1, MULTISEND, 0, deep))
    node, findings = decode(1, MULTISEND, deep)
    assert node.kind == "multisend"
    assert any(item.code == "CALLDATA_MALFORMED" and "deep" in str(dict(item.details)) for item in findings)


def test_batch_sent_by_call_does_not_act_as_the_wallet() -> None:
    """A CALLed MultiSendCallOnly is msg.sender for its entries: a Safe admin call from it would revert."""
    data = multisend((0, SAFE, 0, abi_call("addOwnerWithThreshold(address,uint256)", ATTACKER, 1)))
    node, findings = decode(0, MULTISEND_CALL_ONLY, data)
    assert node.kind == "multisend"
    assert node.calls[0].kind == "safe_admin_foreign"
    assert "OWNER_CHANGE" not in codes(findings)


def test_multisend_1_5_0_zero_address_means_the_wallet() -> None:
    """From 1.5.0, MultiSend(CallOnly) replaces to = address(0) with address(this), the Safe."""
    owner_change = abi_call("addOwnerWithThreshold(address,uint256)", ATTACKER, 1)
    _, findings = decode(1, MULTISEND_CALL_ONLY_150, multisend((0, bytes(20), 0, owner_change)))
    assert only(findings, "OWNER_CHANGE").path == "call.calls[0]"
    # The 1.3.0 library calls address(0) itself: nothing happens to the Safe.
    _, findings = decode(1, MULTISEND_CALL_ONLY, multisend((0, bytes(20), 0, owner_change)))
    assert "OWNER_CHANGE" not in codes(findings)


# --- libraries -------------------------------------------------------------------------------------------


def test_sign_message_lib() -> None:
    message = keccak(b"permit: spend everything")
    node, findings = decode(1, SIGN_MESSAGE_LIB, abi_call("signMessage(bytes)", message))
    assert node.kind == "sign_message"
    item = only(findings, "MESSAGE_SIGNATURE")
    assert item.severity is Severity.HIGH
    assert dict(item.details)["message"] == "0x" + message.hex()
    assert verify(SIGN_MESSAGE_LIB, abi_call("signMessage(bytes)", message), operation=1).verdict.blocked


@pytest.mark.parametrize(
    ("library", "signature", "args", "also_handler"),
    [
        (SAFE_MIGRATION, "migrateSingleton()", (), False),
        (SAFE_MIGRATION, "migrateL2Singleton()", (), False),
        (SAFE_MIGRATION, "migrateWithFallbackHandler()", (), True),
        (SAFE_MIGRATION, "migrateL2WithFallbackHandler()", (), True),
        (SAFE_TO_L2_MIGRATION, "migrateToL2(address)", (ATTACKER,), False),
        (SAFE_TO_L2_MIGRATION, "migrateFromV111(address,address)", (ATTACKER, ALICE), True),
    ],
)
def test_safe_migration_is_an_implementation_change(
    library: bytes, signature: str, args: tuple[Any, ...], also_handler: bool
) -> None:
    node, findings = decode(1, library, abi_call(signature, *args))
    assert node.kind == "safe_migration"
    assert node.function == signature
    assert only(findings, "IMPLEMENTATION_CHANGE").severity is Severity.CRITICAL
    assert ("FALLBACK_HANDLER_CHANGE" in codes(findings)) is also_handler
    assert verify(library, abi_call(signature, *args), operation=1).verdict.blocked is True


def test_trusted_library_with_a_foreign_selector_is_unknown() -> None:
    node, findings = decode(1, MULTISEND, abi_call("transfer(address,uint256)", ALICE, 1))
    assert node.kind == "unknown"
    assert codes(findings) == ["UNKNOWN_CALL"]
    _, findings = decode(1, SIGN_MESSAGE_LIB, abi_call("multiSend(bytes)", b""))
    assert codes(findings) == ["UNKNOWN_CALL"]


def test_untrusted_delegatecall_even_with_a_harmless_name() -> None:
    """The Bybit shape: transfer(x, 0) by DELEGATECALL into foreign code."""
    data = abi_call("transfer(address,uint256)", bytes.fromhex("bDd077f651EBe7f7b3cE16fe5F2b025BE2969516"), 0)
    node, findings = decode(1, ATTACKER, data)
    assert node.kind == "delegatecall_untrusted"
    assert node.function == "transfer(address,uint256)"
    assert codes(findings) == ["DELEGATECALL_UNTRUSTED"]
    assert findings[0].severity is Severity.CRITICAL
    # A self DELEGATECALL is just as untrusted.
    _, findings = decode(1, SAFE, b"")
    assert codes(findings) == ["DELEGATECALL_UNTRUSTED"]


# --- approveHash, nested execTransaction -----------------------------------------------------------------


def test_approve_hash_on_another_safe() -> None:
    approved = keccak(b"some other safe tx")
    node, findings = decode(0, OTHER_SAFE, abi_call("approveHash(bytes32)", approved))
    assert node.kind == "safe_approve_hash"
    item = only(findings, "NESTED_SAFE_APPROVAL")
    assert item.severity is Severity.HIGH  # a signature in all but name, for a transaction nobody decoded
    assert dict(item.details) == {"hash": approved, "target": OTHER_SAFE}
    _, findings = decode(0, SAFE, abi_call("approveHash(bytes32)", approved))
    assert only(findings, "NESTED_SAFE_APPROVAL").severity is Severity.HIGH


EXEC_SIG = "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"


def _exec(
    to: bytes,
    data: bytes,
    operation: int = 0,
    gas_price: int = 0,
    gas_token: bytes = bytes(20),
    refund: bytes = bytes(20),
    value: int = 0,
) -> bytes:
    return abi_call(EXEC_SIG, to, value, data, operation, 0, 0, gas_price, gas_token, refund, b"\x01" * 65)


def test_nested_exec_transaction_is_decoded_in_the_inner_safe_context() -> None:
    inner = abi_call("addOwnerWithThreshold(address,uint256)", ATTACKER, 1)
    node, findings = decode(0, OTHER_SAFE, _exec(OTHER_SAFE, inner))
    assert node.kind == "safe_exec_transaction"
    assert node.calls[0].kind == "safe_add_owner"
    assert node.calls[0].to == OTHER_SAFE
    assert only(findings, "NESTED_SAFE_EXECUTION").path == "call"
    assert {item.path for item in findings if item.code != "NESTED_SAFE_EXECUTION"} == {"call.safe_tx"}
    assert set(codes(findings)) == {"NESTED_SAFE_EXECUTION", "OWNER_CHANGE", "THRESHOLD_CHANGE"}

    # The inner Safe calling *our* wallet's admin function is not our self-call (it would revert).
    _, findings = decode(0, OTHER_SAFE, _exec(SAFE, inner))
    assert "OWNER_CHANGE" not in codes(findings)


def test_nested_exec_transaction_inner_delegatecall_and_value() -> None:
    inner = abi_call("transfer(address,uint256)", BOB, 0)
    node, findings = decode(0, OTHER_SAFE, _exec(ATTACKER, inner, operation=1))
    assert node.calls[0].kind == "delegatecall_untrusted"
    assert only(findings, "DELEGATECALL_UNTRUSTED").path == "call.safe_tx"

    node, findings = decode(0, OTHER_SAFE, _exec(ALICE, b"", value=5 * 10**18))
    assert node.calls[0].kind == "native_transfer"
    assert node.calls[0].value == 5 * 10**18
    assert codes(findings) == ["NESTED_SAFE_EXECUTION"]


def test_module_transaction_on_another_safe_is_high_and_decoded() -> None:
    inner = abi_call("transfer(address,uint256)", ATTACKER, 10**24)
    data = abi_call("execTransactionFromModule(address,uint256,bytes,uint8)", TOKEN, 0, inner, 0)
    node, findings = decode(0, OTHER_SAFE, data)
    assert node.kind == "safe_module_transaction"
    assert node.calls[0].kind == "erc20_transfer"
    assert only(findings, "MODULE_TRANSACTION").severity is Severity.HIGH


def test_batch_selector_on_an_unknown_contract_is_not_decoded_as_a_batch() -> None:
    batch = abi_call("multiSend(bytes)", multisend((0, ALICE, 10**18, b"")))
    node, findings = decode(0, ATTACKER, batch)
    assert node.kind == "unknown"
    assert only(findings, "UNKNOWN_CALL").severity is Severity.MEDIUM


def test_token_selectors_on_the_wallet_itself_reach_the_fallback_handler() -> None:
    node, findings = decode(0, SAFE, abi_call("transfer(address,uint256)", ATTACKER, 1))
    assert node.kind == "unknown"
    assert only(findings, "SELF_CALL_UNKNOWN").severity is Severity.HIGH


def test_nested_exec_transaction_gas_refund_trap() -> None:
    _, findings = decode(0, OTHER_SAFE, _exec(ALICE, b"", gas_price=1, gas_token=TOKEN, refund=ATTACKER))
    item = only(findings, "GAS_REFUND_TRAP")
    assert item.path == "call.safe_tx"


def test_nested_exec_transaction_with_invalid_operation() -> None:
    _, findings = decode(0, OTHER_SAFE, _exec(ALICE, b"", operation=7))
    assert only(findings, "INVALID_OPERATION").path == "call.safe_tx"


# --- top-level shapes through verify_safe_tx --------------------------------------------------------------


def test_onchain_rejection_is_info_and_ok() -> None:
    report = verify(SAFE)
    assert report.call.kind == "rejection"
    assert codes(report.findings) == ["ONCHAIN_REJECTION"]
    assert report.findings[0].severity is Severity.INFO
    assert dict(report.findings[0].details)["nonce"] == 7
    assert report.verdict.blocked is False
    assert report.verdict.label == "ok"


def test_empty_self_call_inside_a_batch_is_not_a_rejection() -> None:
    node, findings = decode(1, MULTISEND_CALL_ONLY, multisend((0, SAFE, 0, b"")))
    assert node.calls[0].kind == "empty_call"
    assert findings == []


@pytest.mark.parametrize("operation", [2, 3, 255])
def test_invalid_operation_is_critical(operation: int) -> None:
    report = verify(ALICE, operation=operation, value=1)
    item = only(report.findings, "INVALID_OPERATION")
    assert item.severity is Severity.CRITICAL
    assert dict(item.details)["operation"] == operation
    assert report.verdict.blocked is True
    assert report.call.kind == "invalid_operation"


def test_unknown_function_of_the_wallet_itself_is_high() -> None:
    # e.g. ExtensibleFallbackHandler.setSafeMethod reached through a self-call: it rewires signature checks.
    data = abi_call("setSafeMethod(bytes4,bytes32)", b"\x16\x26\xba\x7e", b"\x01" * 32)
    report = verify(SAFE, data)
    item = only(report.findings, "SELF_CALL_UNKNOWN")
    assert item.severity is Severity.HIGH
    assert report.verdict.blocked is True
    assert "UNKNOWN_CALL" not in codes(report.findings)


@pytest.mark.parametrize("data", [bytes.fromhex("deadbeef") + bytes(64), b"\x12", b"\x12\x34\x56"])
def test_unknown_selector_is_medium(data: bytes) -> None:
    report = verify(ALICE, data)
    item = only(report.findings, "UNKNOWN_CALL")
    assert item.severity is Severity.MEDIUM
    assert dict(item.details)["selector"] == "0x" + data[:4].hex()
    assert report.call.kind == "unknown"
    assert report.verdict.blocked is False


def test_native_transfer() -> None:
    report = verify(ALICE, value=30_000 * 10**18)
    assert report.call.kind == "native_transfer"
    assert "30,000 ETH" in summary(report.call)
    assert report.findings == ()
    assert report.verdict.label == "ok"


@pytest.mark.parametrize(
    ("gas_token", "refund_receiver", "code", "severity"),
    [
        (TOKEN, bytes(20), "GAS_REFUND_TRAP", Severity.HIGH),
        (bytes(20), ATTACKER, "GAS_REFUND_TRAP", Severity.HIGH),
        (TOKEN, ATTACKER, "GAS_REFUND_TRAP", Severity.HIGH),
        (bytes(20), bytes(20), "GAS_REFUND", Severity.HIGH),  # the executor sets its own refund
    ],
)
def test_gas_refund(gas_token: bytes, refund_receiver: bytes, code: str, severity: Severity) -> None:
    report = verify(ALICE, value=1, gas_price=10**9, gas_token=gas_token, refund_receiver=refund_receiver)
    item = only(report.findings, code)
    assert item.severity is severity
    assert item.path == "gas"
    assert report.verdict.blocked is (severity is Severity.HIGH)


def test_no_refund_finding_without_gas_price() -> None:
    report = verify(ALICE, value=1, gas_price=0, gas_token=TOKEN, refund_receiver=ATTACKER)
    assert report.findings == ()


def test_unbounded_eth_refund_to_the_executor_blocks() -> None:
    report = verify(ALICE, value=1, gas_price=UINT256_MAX, base_gas=10**12)
    assert report.verdict.blocked is True

"""Independent verification of a raw EVM transaction: fields, hashes, sender, decoded call, EIP-7702 delegations.

``verify_evm_tx`` is pure: the raw bytes, the expectations and the contract registry are arguments; nothing is
read from the network, the environment or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mamori.chains.evm.encoding import ZERO_ADDRESS, hex0x, to_checksum_address
from mamori.chains.evm.transaction import Authorization, EvmTransaction, decode_transaction
from mamori.errors import ContextError
from mamori.verify.calls import CallContext, decode_call
from mamori.verify.model import CallNode, Finding, Verdict, finding, sort_findings, verdict_of
from mamori.verify.registry import ContractRegistry


@dataclass(frozen=True, slots=True)
class EvmTxReport:
    tx: EvmTransaction
    call: CallNode
    findings: tuple[Finding, ...]
    verdict: Verdict

    @property
    def sender(self) -> bytes | None:
        return self.tx.sender

    def to_json(self) -> dict[str, Any]:
        tx = self.tx
        return {
            "type": tx.type_name,
            "chain_id": tx.chain_id,
            "nonce": tx.nonce,
            "to": to_checksum_address(tx.to) if tx.to is not None else None,
            "value": str(tx.value),
            "data": hex0x(tx.data),
            "gas_limit": str(tx.gas_limit),
            "gas_price": _optional_str(tx.gas_price),
            "max_fee_per_gas": _optional_str(tx.max_fee_per_gas),
            "max_priority_fee_per_gas": _optional_str(tx.max_priority_fee_per_gas),
            "access_list": [
                {"address": to_checksum_address(e.address), "storage_keys": [hex0x(k) for k in e.storage_keys]}
                for e in tx.access_list
            ],
            "authorization_list": [_authorization_json(a) for a in tx.authorization_list],
            "signing_hash": hex0x(tx.signing_hash),
            "tx_hash": hex0x(tx.tx_hash) if tx.tx_hash is not None else None,
            "sender": to_checksum_address(tx.sender) if tx.sender is not None else None,
            "signed": tx.signed,
            "signature": (
                {
                    "v": str(tx.signature.v),
                    "y_parity": tx.signature.y_parity,
                    "r": _word(tx.signature.r),
                    "s": _word(tx.signature.s),
                    "error": tx.signature_error,
                }
                if tx.signature is not None
                else None
            ),
            "call": self.call.to_json(),
            "findings": [item.to_json() for item in self.findings],
            "verdict": self.verdict.label,
        }


def verify_evm_tx(
    raw: bytes | str,
    *,
    registry: ContractRegistry,
    expected_chain_id: int | None = None,
    expected_sender: bytes | None = None,
) -> EvmTxReport:
    """Decode ``raw`` (binary or hex text) and report what signing it commits to.

    Raises :class:`~mamori.errors.DecodeError` for bytes that are not a well-formed transaction, and
    :class:`~mamori.errors.ContextError` for an expected chain id that is not positive.
    """
    if expected_chain_id is not None and expected_chain_id <= 0:
        raise ContextError("CHAIN_ID_INVALID", value=expected_chain_id)
    tx = decode_transaction(raw)
    findings: list[Finding] = []
    _check_chain(tx, expected_chain_id, findings)
    _check_signature(tx, expected_sender, findings)
    _check_fees(tx, findings)
    for index, authorization in enumerate(tx.authorization_list):
        _check_authorization(authorization, tx.chain_id, f"authorization_list[{index}]", findings)
    call = _decode_tx_call(tx, registry, findings)
    ordered = sort_findings(findings)
    return EvmTxReport(tx, call, ordered, verdict_of(ordered))


def _check_chain(tx: EvmTransaction, expected: int | None, findings: list[Finding]) -> None:
    if tx.chain_id is None:
        # Pre-EIP-155 (or its unsigned 6-field form): the signature is valid on every chain.
        findings.append(finding("REPLAYABLE_NO_CHAIN_ID", "chain_id"))
    elif expected is not None and tx.chain_id != expected:
        findings.append(finding("CHAIN_ID_MISMATCH", "chain_id", actual=tx.chain_id, expected=expected))


def _check_fees(tx: EvmTransaction, findings: list[Finding]) -> None:
    cap, tip = tx.max_fee_per_gas, tx.max_priority_fee_per_gas
    if cap is not None and tip is not None and tip > cap:
        # EIP-1559: a priority fee above the fee cap makes the transaction invalid.
        findings.append(finding("TX_INVALID", "max_priority_fee_per_gas", reason="max priority fee above max fee"))


def _check_signature(tx: EvmTransaction, expected_sender: bytes | None, findings: list[Finding]) -> None:
    if tx.signature_error is not None:
        findings.append(finding("TX_SIGNATURE_INVALID", "signature", reason=tx.signature_error))
    elif expected_sender is not None and tx.sender is not None and tx.sender != expected_sender:
        findings.append(finding("SENDER_MISMATCH", "sender", recovered=tx.sender, expected=expected_sender))


def _check_authorization(auth: Authorization, tx_chain_id: int | None, path: str, findings: list[Finding]) -> None:
    if auth.chain_id not in (0, tx_chain_id):
        # Skipped on this chain, yet a valid delegation wherever chain_id points: still a signed handover.
        findings.append(finding("CHAIN_ID_MISMATCH", f"{path}.chain_id", actual=auth.chain_id, expected=tx_chain_id))
    if auth.authority is None:
        findings.append(finding("TX_SIGNATURE_INVALID", path, reason=f"{path}: {auth.error}"))
    elif auth.address != ZERO_ADDRESS:
        # Delegating to the zero address clears the account's code: it takes nothing away.
        findings.append(finding("EIP7702_DELEGATION", path, authority=auth.authority, delegate=auth.address))


def _decode_tx_call(tx: EvmTransaction, registry: ContractRegistry, findings: list[Finding]) -> CallNode:
    if tx.to is None:
        findings.append(finding("CONTRACT_CREATION", "call", size=len(tx.data)))
        return CallNode(
            0,
            b"",
            tx.value,
            tx.data,
            "contract_creation",
            summary_en=f"Deploy a contract from {len(tx.data)} bytes of init code, endowed with {tx.value} wei",
            summary_ja=f"初期化コード {len(tx.data)} バイトからコントラクトをデプロイ（{tx.value} wei を付与）",
        )
    return decode_call(0, tx.to, tx.value, tx.data, CallContext(wallet=tx.sender, registry=registry), "call", findings)


def _authorization_json(auth: Authorization) -> dict[str, Any]:
    return {
        # A uint256 in EIP-7702: a decimal string, like every value that may not fit a JSON number.
        "chain_id": str(auth.chain_id),
        "address": to_checksum_address(auth.address),
        "nonce": auth.nonce,
        "y_parity": auth.y_parity,
        "r": _word(auth.r),
        "s": _word(auth.s),
        "signing_hash": hex0x(auth.signing_hash),
        "authority": to_checksum_address(auth.authority) if auth.authority is not None else None,
        "valid": auth.valid,
        "error": auth.error,
    }


def _optional_str(value: int | None) -> str | None:
    return str(value) if value is not None else None


def _word(value: int) -> str:
    return hex0x(value.to_bytes(32, "big"))

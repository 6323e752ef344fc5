"""Independent verification of a Safe multisig transaction: hashes, decoded calls, every signature, findings.

``verify_safe_tx`` is pure: the record, the context (chain, version, owners) and the contract registry are
arguments; nothing is read from the network, the environment or the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from mamori.chains.evm.crypto import keccak256
from mamori.chains.evm.encoding import hex0x, to_checksum_address
from mamori.chains.evm.safe import signatures as sigs
from mamori.chains.evm.safe.calldata import exec_transaction_calldata
from mamori.chains.evm.safe.hashes import safe_tx_hashes
from mamori.chains.evm.safe.model import SafeTx, SafeTxHashes
from mamori.chains.evm.safe.record import Confirmation, SafeTxRecord, parse_safe_tx_record
from mamori.chains.evm.safe.versions import SUPPORTED_VERSIONS, SafeVersion, parse_safe_version
from mamori.errors import ContextError, DecodeError
from mamori.verify.calls import check_gas_refund, decode_call, root_context
from mamori.verify.context import SafeBook, SafeContext, resolve_context
from mamori.verify.model import (
    NOTHING_FOUND,
    CallNode,
    Finding,
    SignatureCheck,
    Verdict,
    finding,
    json_number,
    sort_findings,
    verdict_of,
)
from mamori.verify.registry import ContractRegistry


class SafeTxReport(NamedTuple):
    tx: SafeTx
    chain_id: int
    version: SafeVersion
    hashes: SafeTxHashes
    claimed_safe_tx_hash: bytes | None
    call: CallNode
    signatures: tuple[SignatureCheck, ...]
    findings: tuple[Finding, ...]
    verdict: Verdict
    exec_calldata: bytes | None

    def to_json(self) -> dict[str, Any]:
        tx = self.tx
        return {
            "safe": to_checksum_address(tx.safe),
            "chain_id": self.chain_id,
            "safe_version": self.version.text,
            "nonce": json_number(tx.nonce),
            "to": to_checksum_address(tx.to),
            "value": str(tx.value),
            "data": hex0x(tx.data),
            "operation": tx.operation,
            "safe_tx_gas": str(tx.safe_tx_gas),
            "base_gas": str(tx.base_gas),
            "gas_price": str(tx.gas_price),
            "gas_token": to_checksum_address(tx.gas_token),
            "refund_receiver": to_checksum_address(tx.refund_receiver),
            "domain_hash": hex0x(self.hashes.domain_hash),
            "message_hash": hex0x(self.hashes.message_hash),
            "safe_tx_hash": hex0x(self.hashes.safe_tx_hash),
            "claimed_safe_tx_hash": hex0x(self.claimed_safe_tx_hash) if self.claimed_safe_tx_hash else None,
            "eth_sign_digest": hex0x(self.hashes.eth_sign_digest),
            "exec_transaction_calldata": hex0x(self.exec_calldata) if self.exec_calldata is not None else None,
            "exec_transaction_calldata_hash": (
                hex0x(keccak256(self.exec_calldata)) if self.exec_calldata is not None else None
            ),
            "call": self.call.to_json(),
            "signatures": [check.to_json() for check in self.signatures],
            "findings": [item.to_json() for item in self.findings],
            "verdict": self.verdict.label,
        }


def verify_safe_tx(
    record: SafeTxRecord, context: SafeContext, registry: ContractRegistry, *, shown_hash: bytes | None = None
) -> SafeTxReport:
    """``shown_hash``: the safeTxHash a device or UI displays to the signer, compared like the record's claim."""
    tx = record.tx
    hashes = safe_tx_hashes(tx, context.version, context.chain_id)
    findings: list[Finding] = []
    if shown_hash is not None and shown_hash != hashes.safe_tx_hash:
        findings.append(finding("HASH_MISMATCH", "shown", claimed=shown_hash, computed=hashes.safe_tx_hash))
    if record.claimed_safe_tx_hash is not None and record.claimed_safe_tx_hash != hashes.safe_tx_hash:
        findings.append(
            finding(
                "HASH_MISMATCH",
                "safeTxHash",
                claimed=record.claimed_safe_tx_hash,
                computed=hashes.safe_tx_hash,
            )
        )
    call = decode_call(
        tx.operation,
        tx.to,
        tx.value,
        tx.data,
        root_context(tx.safe, registry),
        "call",
        findings,
    )
    if call.kind == "rejection":
        findings.append(finding("ONCHAIN_REJECTION", "call", nonce=tx.nonce))
    if tx.gas_price:
        check_gas_refund(tx.gas_price, tx.base_gas, tx.gas_token, tx.refund_receiver, "gas", findings)
    checks, packed = _check_signatures(record, context, hashes, findings)
    exec_calldata = exec_transaction_calldata(tx, packed) if packed else None
    ordered = sort_findings(findings) if findings else ()
    return SafeTxReport(
        tx,
        context.chain_id,
        context.version,
        hashes,
        record.claimed_safe_tx_hash,
        call,
        tuple(checks),
        ordered,
        verdict_of(ordered) if ordered else NOTHING_FOUND,
        exec_calldata,
    )


def versions_matching_hash(tx: SafeTx, chain_id: int, claimed: bytes) -> tuple[str, ...]:
    """Which Safe versions would give ``claimed``: a hint when the operator did not say (never a decision)."""
    return tuple(
        text
        for text in SUPPORTED_VERSIONS
        if safe_tx_hashes(tx, parse_safe_version(text), chain_id).safe_tx_hash == claimed
    )


def _check_signatures(
    record: SafeTxRecord, context: SafeContext, hashes: SafeTxHashes, findings: list[Finding]
) -> tuple[list[SignatureCheck], bytes]:
    """Check the packed signatures and every confirmation; return the checks and the bytes to execute with."""
    checks: list[SignatureCheck] = []
    if not record.signatures and not record.confirmations:  # a fresh proposal: nothing to check yet
        threshold = context.threshold or record.confirmations_required
        if threshold:
            findings.append(finding("QUORUM_NOT_MET", "signatures", valid=0, threshold=threshold))
        return checks, b""
    stated_owners = frozenset(c.owner for c in record.confirmations)
    recover = _recoverer(hashes)
    packed_items: list[sigs.SafeSignature] = []
    if record.signatures:
        try:
            packed_items = list(sigs.split_signatures(record.signatures))
        except DecodeError as exc:
            findings.append(
                finding("SIGNATURE_MALFORMED", "signatures", source="signatures", reason=exc.details.get("reason"))
            )
        signers: list[bytes] = []
        for index, item in enumerate(packed_items):
            check = _check_one(item, f"signatures[{index}]", None, stated_owners, context, recover, findings)
            checks.append(check)
            signers.append(check.recovered if check.recovered is not None else item.owner_in_r)
        _check_order(signers, findings)
    confirmed: list[tuple[bytes, sigs.SafeSignature]] = []
    for index, confirmation in enumerate(record.confirmations):
        source = f"confirmations[{index}]"
        single = _split_confirmation(confirmation, source, findings)
        if single is None:
            checks.append(SignatureCheck(source, "malformed", confirmation.owner, None, False))
            continue
        checks.append(_check_one(single, source, confirmation.owner, stated_owners, context, recover, findings))
        confirmed.append((confirmation.owner, single))
    threshold = context.threshold or record.confirmations_required
    valid_signers = {c.recovered for c in checks if c.valid and c.recovered is not None}
    if threshold is not None and len(valid_signers) < threshold:
        findings.append(finding("QUORUM_NOT_MET", "signatures", valid=len(valid_signers), threshold=threshold))
    if record.signatures:
        return checks, record.signatures
    if confirmed:
        # The service builds execTransaction's signatures the same way: sorted by owner, contract data last.
        ordered = [item for _, item in sorted(confirmed, key=lambda pair: pair[0])]
        return checks, sigs.pack_signatures(ordered)
    return checks, b""


def _split_confirmation(confirmation: Confirmation, source: str, findings: list[Finding]) -> sigs.SafeSignature | None:
    if not confirmation.signature:
        if (confirmation.signature_type or "").upper() == "APPROVED_HASH":
            return sigs.SafeSignature(sigs.APPROVED_HASH, 1, int.from_bytes(confirmation.owner, "big"), 0)
        findings.append(finding("SIGNATURE_MALFORMED", source, source=source, reason="no signature bytes"))
        return None
    try:
        items = sigs.split_signatures(confirmation.signature)
    except DecodeError as exc:
        findings.append(finding("SIGNATURE_MALFORMED", source, source=source, reason=exc.details.get("reason")))
        return None
    if len(items) != 1:
        findings.append(
            finding(
                "SIGNATURE_MALFORMED",
                source,
                source=source,
                reason=f"{len(items)} signatures in one confirmation",
            )
        )
        return None
    return items[0]


def _recoverer(hashes: SafeTxHashes) -> Callable[[sigs.SafeSignature], bytes]:
    """Recover each distinct signature once: the service repeats every packed signature in a confirmation."""
    recovered: dict[sigs.SafeSignature, bytes] = {}

    def recover(item: sigs.SafeSignature) -> bytes:
        if item not in recovered:
            recovered[item] = sigs.recover_signer(item, hashes.safe_tx_hash, hashes.eth_sign_digest)
        return recovered[item]

    return recover


def _check_one(
    item: sigs.SafeSignature,
    source: str,
    stated_owner: bytes | None,
    stated_owners: frozenset[bytes],
    context: SafeContext,
    recover: Callable[[sigs.SafeSignature], bytes],
    findings: list[Finding],
) -> SignatureCheck:
    if item.kind in (sigs.CONTRACT, sigs.APPROVED_HASH):
        owner = item.owner_in_r
        if stated_owner is not None and owner != stated_owner:
            findings.append(_mismatch(source, owner, stated_owner))
            return SignatureCheck(source, item.kind, stated_owner, owner, False, "names a different owner")
        if context.owners is not None and owner not in context.owners:
            findings.append(finding("SIGNER_NOT_OWNER", source, source=source, signer=owner))
            return SignatureCheck(source, item.kind, stated_owner, owner, False, "not an owner")
        code = "CONTRACT_SIGNATURE_UNVERIFIED" if item.kind == sigs.CONTRACT else "APPROVED_HASH_UNVERIFIED"
        findings.append(finding(code, source, source=source, owner=owner))
        return SignatureCheck(source, item.kind, stated_owner, owner, None, "not verifiable offline")
    try:
        recovered = recover(item)
    except DecodeError as exc:
        findings.append(finding("SIGNATURE_MALFORMED", source, source=source, reason=exc.details.get("reason")))
        return SignatureCheck(source, item.kind, stated_owner, None, False, "no signer recovers")
    if stated_owner is not None and recovered != stated_owner:
        findings.append(_mismatch(source, recovered, stated_owner))
        return SignatureCheck(source, item.kind, stated_owner, recovered, False, "recovers to another address")
    if context.owners is not None:
        if recovered not in context.owners:
            findings.append(finding("SIGNER_NOT_OWNER", source, source=source, signer=recovered))
            return SignatureCheck(source, item.kind, stated_owner, recovered, False, "not an owner")
        return SignatureCheck(source, item.kind, stated_owner, recovered, True, "an owner of the Safe")
    if stated_owner is None and stated_owners and recovered not in stated_owners:
        findings.append(_mismatch(source, recovered, NOT_A_CONFIRMING_OWNER))
        return SignatureCheck(source, item.kind, None, recovered, False, "not among the confirming owners")
    # The record's own word on who the owners are proves nothing: it comes from the service being checked.
    findings.append(finding("SIGNER_UNVERIFIED", source, source=source, recovered=recovered))
    return SignatureCheck(source, item.kind, stated_owner, recovered, None, "owners unknown: not verified")


NOT_A_CONFIRMING_OWNER = ("an owner the record names", "レコードが示すオーナー")


def _mismatch(source: str, recovered: bytes, expected: bytes | tuple[str, str]) -> Finding:
    en, ja = expected if isinstance(expected, tuple) else (expected, expected)
    return finding("SIGNATURE_MISMATCH", source, source=source, recovered=recovered, expected=en, expected_ja=ja)


def _check_order(signers: list[bytes], findings: list[Finding]) -> None:
    for index in range(1, len(signers)):
        if signers[index] <= signers[index - 1]:
            reason = (
                f"signer {index} {to_checksum_address(signers[index])} is not above "
                f"{to_checksum_address(signers[index - 1])}"
            )
            findings.append(finding("SIGNATURE_ORDER", "signatures", reason=reason))
            return


def verify_safe_record(
    record: object,
    *,
    chain_id: int,
    safe_version: str | None,
    book: SafeBook | None,
    registry: ContractRegistry,
    shown_hash: bytes | None = None,
) -> SafeTxReport:
    """Parse a Safe Transaction Service record and verify it with the operator's context.

    Chain and version come only from the caller (options, the Safe file), never from the record: a compromised
    API could otherwise pick the chain or version whose hash it wants verified."""
    parsed = parse_safe_tx_record(record)
    try:
        context = resolve_context(parsed.tx.safe, chain_id, safe_version, book)
    except ContextError as exc:
        if exc.code == "SAFE_VERSION_REQUIRED" and parsed.claimed_safe_tx_hash is not None and chain_id > 0:
            matches = versions_matching_hash(parsed.tx, chain_id, parsed.claimed_safe_tx_hash)
            if matches:
                shown = ", ".join(matches)
                raise ContextError(
                    "SAFE_VERSION_REQUIRED",
                    hint=f" The record's claimed hash matches version(s) {shown}; confirm before use.",
                    hint_ja=f" レコードが示すハッシュはバージョン {shown} と一致します。使用前に確認してください。",
                ) from exc
        raise
    return verify_safe_tx(parsed, context, registry, shown_hash=shown_hash)

"""Independent verification of a Bitcoin PSBT before a key holder signs it: where every satoshi goes, which outputs
provably come back to the exchange's wallets, the fee, the signatures already given, and whatever would let an
attacker change the transaction after signing.

Nothing the PSBT claims is taken on trust: a previous transaction must hash to the outpoint it funds, a redeem or
witness script must hash to the script it spends, a signature must verify against the sighash computed here, and
an output is change only when its script is re-derived from the wallet's own descriptor at the path the PSBT
names. Pure: the wallets and the limits are arguments.

Here: each input and output, and the verification as a whole. The report's records are in ``psbt_report.py``,
the checks of the transaction as a whole (consensus, lock time, modifiability, network, size) in
``psbt_transaction.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from mamori.chains.bitcoin.address import ScriptKind, describe_script, script_to_address
from mamori.chains.bitcoin.bip32 import serialized_is_testnet
from mamori.chains.bitcoin.descriptor import MATCH_REASONS, Descriptor, MatchOutcome
from mamori.chains.bitcoin.networks import Network
from mamori.chains.bitcoin.psbt import (
    Bip32Derivation,
    Psbt,
    PsbtInput,
    TapBip32Derivation,
    locktime,
    parse_psbt,
    unsigned_transaction,
)
from mamori.chains.bitcoin.signatures import InputProblem, InputSignatures, check_all_signatures
from mamori.chains.bitcoin.transaction import TxOut, display_hex, txid
from mamori.verify.model import ArgValue, Finding, finding, sort_findings, verdict_of
from mamori.verify.psbt_report import InputView, Limits, OutputView, PsbtReport, btc
from mamori.verify.psbt_transaction import (
    check_consensus,
    check_locktime,
    check_modifiable,
    estimated_vsize,
    network_mismatch,
)

__all__ = ["InputView", "Limits", "OutputView", "PsbtReport", "verify_psbt"]

_SIGHASH_NAMES = {
    0x00: "DEFAULT",
    0x01: "ALL",
    0x02: "NONE",
    0x03: "SINGLE",
    0x81: "ALL|ANYONECANPAY",
    0x82: "NONE|ANYONECANPAY",
    0x83: "SINGLE|ANYONECANPAY",
}


def verify_psbt(
    data: bytes | Psbt,
    *,
    wallets: Sequence[Descriptor] = (),
    network: Network | None = None,
    limits: Limits | None = None,
) -> PsbtReport:
    """Verify a PSBT (its bytes, or parsed). Raises only for a PSBT that cannot be parsed (exit 2)."""
    psbt = parse_psbt(data) if isinstance(data, bytes) else data
    limits = limits or Limits()
    families = {serialized_is_testnet(item.xpub) for item in psbt.xpubs} - {None}
    network = network or _network(wallets) or (Network.TESTNET if families == {True} else Network.MAINNET)
    tx = unsigned_transaction(psbt)
    lock = locktime(psbt)
    findings: list[Finding] = []
    if families - {network.is_test}:
        network_mismatch(families, network, findings)
    checks = check_all_signatures(psbt)
    inputs = [
        _input(index, txin.prev_txid, txin.vout, txin.sequence, fields, checked, wallets, network, findings)
        for index, (txin, fields, checked) in enumerate(zip(tx.inputs, psbt.inputs, checks, strict=True))
    ]
    outputs = [_output(psbt, index, out, wallets, network, findings) for index, out in enumerate(tx.outputs)]
    check_consensus(tx.inputs, tx.outputs, inputs, findings)
    known = [item.amount for item in inputs]
    total_in = sum(a for a in known if a is not None) if all(a is not None for a in known) else None
    total_out = sum(out.amount for out in tx.outputs)
    fee = total_in - total_out if total_in is not None else None
    vsize = estimated_vsize(psbt, tx, inputs)
    if fee is not None and fee < 0:
        findings.append(finding("FEE_NEGATIVE", "fee", inputs=btc(total_in or 0), outputs=btc(total_out)))
    elif fee is not None and (fee > limits.max_fee or fee > limits.max_fee_rate * vsize):
        limit = f"{limits.max_fee_rate} sat/vB and {btc(limits.max_fee)}"
        findings.append(finding("FEE_EXCESSIVE", "fee", fee=btc(fee), fee_rate=f"{fee / vsize:.1f}", limit=limit))
    check_locktime(lock, tx.inputs, limits, findings)
    check_modifiable(psbt, findings)
    ordered = sort_findings(findings)
    return PsbtReport(
        psbt.version,
        network,
        display_hex(txid(tx)),  # of the transaction being signed (for v2, BIP-370's id sets sequences to 0)
        tx.version,
        lock,
        tuple(inputs),
        tuple(outputs),
        fee,
        vsize,
        ordered,
        verdict_of(ordered),
    )


def _network(wallets: Sequence[Descriptor]) -> Network | None:
    for wallet in wallets:
        if wallet.network is not None:
            return wallet.network
    return None


# What the signature checks found wrong with an input's data, as the findings a signer reads (code, what, reason).
_PROBLEMS: dict[InputProblem, tuple[str, str, str]] = {
    InputProblem.UTXO_MISSING: ("MISSING_UTXO", "", ""),
    InputProblem.NON_WITNESS_UTXO_TXID_MISMATCH: ("NON_WITNESS_UTXO_MISMATCH", "", ""),
    InputProblem.NON_WITNESS_UTXO_OUTPUT_MISSING: ("NON_WITNESS_UTXO_MISMATCH", "", "no such output"),
    InputProblem.NON_WITNESS_UTXO_MISSING: ("SEGWIT_UTXO_ONLY", "", ""),
    InputProblem.WITNESS_UTXO_MISMATCH: (
        "UTXO_SCRIPT_MISMATCH", "witness UTXO", "it differs from the previous transaction's output"),
    InputProblem.WITNESS_UTXO_FOR_NON_WITNESS_INPUT: (
        "UTXO_SCRIPT_MISMATCH", "witness UTXO", "the input is not segwit: only its full previous transaction counts"),
    InputProblem.REDEEM_SCRIPT_MISMATCH: ("UTXO_SCRIPT_MISMATCH", "redeem script", "its HASH160 is not the P2SH hash"),
    InputProblem.WITNESS_SCRIPT_MISMATCH: (
        "UTXO_SCRIPT_MISMATCH", "witness script", "its SHA-256 is not the P2WSH program"),
    InputProblem.REDEEM_SCRIPT_MISSING: ("INPUT_SCRIPT_UNKNOWN", "", "its redeem script is missing"),
    InputProblem.WITNESS_SCRIPT_MISSING: ("INPUT_SCRIPT_UNKNOWN", "", "its witness script is missing"),
    InputProblem.SCRIPT_UNSUPPORTED: ("INPUT_SCRIPT_UNKNOWN", "", "not a script template whose keys are known"),
    InputProblem.SPENT_OUTPUTS_MISSING: ("INPUT_SCRIPT_UNKNOWN", "", "the outputs other inputs spend are unknown"),
    InputProblem.TRANSACTION_UNDETERMINED: ("INPUT_SCRIPT_UNKNOWN", "", "no lock time satisfies every input"),
}  # fmt: skip


def _input(
    index: int,
    prev_txid: bytes,
    vout: int,
    sequence: int,
    fields: PsbtInput,
    checked: InputSignatures,
    wallets: Sequence[Descriptor],
    network: Network,
    findings: list[Finding],
) -> InputView:
    path = f"inputs[{index}]"
    for problem in checked.problems:
        code, what, reason = _PROBLEMS[problem]
        details: dict[str, ArgValue] = {"input": index}
        if code == "NON_WITNESS_UTXO_MISMATCH":
            computed = checked.non_witness_utxo_txid
            details |= {"computed": display_hex(computed) if computed else "?",
                        "txid": display_hex(prev_txid) + (f":{vout} ({reason})" if reason else "")}  # fmt: skip
        elif code in ("UTXO_SCRIPT_MISMATCH", "INPUT_SCRIPT_UNKNOWN"):
            details |= {"script": what, "reason": reason} if what else {"reason": reason}
        findings.append(finding(code, path, **details))
    _check_sighash(index, fields, findings)
    for bad in checked.invalid:
        why = bad.reason.value if bad.reason is not None else "does_not_verify"
        findings.append(finding("INVALID_SIGNATURE", f"{path}.signatures", input=index, pubkey=bad.pubkey.hex(),
                                reason=why))  # fmt: skip
    if checked.required is not None:
        findings.append(finding("INPUT_QUORUM", path, input=index, valid=checked.valid, required=checked.required))
    spent = checked.spent_output
    script = spent.script_pubkey if spent is not None else None
    utxo = {(True, True): "both", (True, False): "full", (False, True): "witness", (False, False): "none"}[
        (fields.non_witness_utxo is not None, fields.witness_utxo is not None)
    ]
    amount = spent.amount if spent is not None else None
    # No output known to be spent: MISSING_UTXO or a mismatch already blocks, and there is nothing to prove.
    owner = _owner(index, script, amount, fields, wallets, findings) if wallets and script is not None else _NOBODY
    return InputView(
        index,
        display_hex(prev_txid),
        vout,
        sequence,
        amount,
        script,
        checked.kind.value,
        network,
        utxo,
        _sighash_name(fields),
        checked.required,
        checked.valid,
        checked.signatures,
        *owner,
    )


_NOBODY: tuple[str | None, int | None, int | None] = (None, None, None)


def _owner(
    index: int,
    script: bytes,
    amount: int | None,
    fields: PsbtInput,
    wallets: Sequence[Descriptor],
    findings: list[Finding],
) -> tuple[str | None, int | None, int | None]:
    """(wallet, branch, index) of the wallet that provably owns the output an input spends: its script re-derived
    from the wallet's descriptor at the path the PSBT names. A withdrawal spends only its own wallet's coins;
    anything else is found."""
    claims = _claims(fields.bip32_derivations, fields.tap_bip32_derivations)
    reasons: list[str] = []
    for number, wallet in enumerate(wallets):
        match = wallet.match_derivation(script, claims)
        if match.outcome is MatchOutcome.PROVEN:
            return wallet.name or f"wallet {number + 1}", match.branch, match.index
        reasons += match.reasons
    if reasons:
        claimed = ", ".join(sorted({_path_text(p) for _, _, p in claims}))
        why, why_ja = _why(reasons)
        reason = f"its claimed derivation ({claimed}) does not hold ({why})"
        reason_ja = f"名乗る導出パス（{claimed}）が成り立ちません（{why_ja}）"
    elif fields.final_script_sig is not None or fields.final_script_witness is not None:
        reason = "it is finalized, and a finalizer removes the derivations that would prove it"
        reason_ja = "ファイナライズ済みで、証明に必要な導出情報が削除されています"
    else:
        reason, reason_ja = "it names no key of ours", "自社の鍵を一つも示していません"
    shown = btc(amount) if amount is not None else "?"
    findings.append(
        finding("INPUT_NOT_OURS", f"inputs[{index}]", input=index, amount=shown, reason=reason, reason_ja=reason_ja)
    )
    return _NOBODY


def _why(reasons: Sequence[str]) -> tuple[str, str]:
    """The descriptor's reasons for not proving a claim (MATCH_REASONS), in English and Japanese, each once."""
    chosen = [MATCH_REASONS[code] for code in dict.fromkeys(reasons)]
    return "; ".join(en[0].lower() + en[1:] for en, _ in chosen), "。".join(ja for _, ja in chosen)


def _claims(
    derivations: Sequence[Bip32Derivation], tap_derivations: Sequence[TapBip32Derivation]
) -> list[tuple[bytes, bytes, tuple[int, ...]]]:
    """(public key, master fingerprint, path) of every derivation a PSBT map names, for match_derivation."""
    claims = [(d.pubkey, d.origin.fingerprint, d.origin.path) for d in derivations]
    claims += [(d.pubkey, d.origin.fingerprint, d.origin.path) for d in tap_derivations]
    return claims


def _check_sighash(index: int, fields: PsbtInput, findings: list[Finding]) -> None:
    types = {fields.sighash_type} if fields.sighash_type is not None else set()
    types |= {sig.signature[-1] for sig in fields.partial_sigs if sig.signature}
    if fields.tap_key_sig is not None and len(fields.tap_key_sig) == 65:
        types.add(fields.tap_key_sig[-1])
    for value in sorted(types - {0x00, 0x01}):
        base = value & 0x1F
        parts = [{0x02: "the outputs", 0x03: "the other outputs"}.get(base, "")]
        parts_ja = [{0x02: "出力", 0x03: "他の出力"}.get(base, "")]
        if value & 0x80:
            parts.append("the other inputs")
            parts_ja.append("他の入力")
        uncommitted = " and ".join(p for p in parts if p) or "what the signature type leaves out"
        uncommitted_ja = "・".join(p for p in parts_ja if p) or "署名タイプが除外する部分"
        findings.append(
            finding(
                "SIGHASH_NON_DEFAULT",
                f"inputs[{index}]",
                input=index,
                sighash=_SIGHASH_NAMES.get(value, f"0x{value:02x}"),
                uncommitted=uncommitted,
                uncommitted_ja=uncommitted_ja,
            )
        )


def _sighash_name(fields: PsbtInput) -> str:
    if fields.sighash_type is None:
        return "ALL (not stated)"
    return _SIGHASH_NAMES.get(fields.sighash_type, f"0x{fields.sighash_type:02x}")


def _output(
    psbt: Psbt, index: int, out: TxOut, wallets: Sequence[Descriptor], network: Network, findings: list[Finding]
) -> OutputView:
    path = f"outputs[{index}]"
    info = describe_script(out.script_pubkey)
    address = script_to_address(out.script_pubkey, network)
    if info.kind is ScriptKind.NULL_DATA:
        findings.append(finding("DATA_OUTPUT", path, output=index, size=len(info.program), amount=btc(out.amount)))
        return OutputView(index, out.amount, out.script_pubkey, info.kind.value, None, "data")
    fields = psbt.outputs[index]
    claims = _claims(fields.bip32_derivations, fields.tap_bip32_derivations)
    reasons: list[str] = []
    # Every wallet is asked before a claim is called false: wallets of one master key share its fingerprint, and
    # a path that is not the first wallet's may be the second's.
    for number, wallet in enumerate(wallets):
        match = wallet.match_derivation(out.script_pubkey, claims)
        if match.outcome is MatchOutcome.PROVEN:
            name = wallet.name or f"wallet {number + 1}"
            return OutputView(
                index,
                out.amount,
                out.script_pubkey,
                info.kind.value,
                address,
                "change",
                name,
                match.branch,
                match.index,
            )
        reasons += match.reasons
    if reasons:
        claimed = ", ".join(sorted({_path_text(p) for _, _, p in claims})) or "a path of ours"
        why, why_ja = _why(reasons)
        findings.append(
            finding(
                "CHANGE_NOT_OURS",
                path,
                output=index,
                address=address or out.script_pubkey.hex(),
                amount=btc(out.amount),
                claimed=claimed,
                why=why,
                why_ja=why_ja,
            )
        )
        return OutputView(index, out.amount, out.script_pubkey, info.kind.value, address, "external")
    if address is None:
        findings.append(finding("OUTPUT_SCRIPT_UNKNOWN", path, output=index, amount=btc(out.amount)))
        return OutputView(index, out.amount, out.script_pubkey, info.kind.value, None, "unknown")
    findings.append(finding("EXTERNAL_OUTPUT", path, output=index, amount=btc(out.amount), address=address))
    return OutputView(index, out.amount, out.script_pubkey, info.kind.value, address, "external")


def _path_text(path: tuple[int, ...]) -> str:
    return "m/" + "/".join(f"{p & 0x7FFFFFFF}'" if p & 0x80000000 else str(p) for p in path)

"""Independent verification of a Bitcoin PSBT before a key holder signs it: where every satoshi goes, which outputs
provably come back to the exchange's wallets, the fee, the signatures already given, and whatever would let an
attacker change the transaction after signing.

Nothing the PSBT claims is taken on trust: a previous transaction must hash to the outpoint it funds, a redeem or
witness script must hash to the script it spends, a signature must verify against the sighash computed here, and
an output is change only when its script is re-derived from the wallet's own descriptor at the path the PSBT
names. Pure: the wallets and the limits are arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
from mamori.chains.bitcoin.signatures import InputProblem, InputSignatures, SignatureCheck, check_all_signatures
from mamori.chains.bitcoin.transaction import LOCKTIME_THRESHOLD, SEQUENCE_FINAL, TxIn, TxOut, display_hex, txid
from mamori.verify.model import ArgValue, Finding, Verdict, finding, sort_findings, verdict_of

SATOSHI_PER_BTC = 100_000_000
MAX_MONEY = 21_000_000 * SATOSHI_PER_BTC  # consensus: no amount, nor the sum of a transaction's outputs, above it
DEFAULT_MAX_FEE_RATE = 500  # sat/vB: far above any ordinary market, below what a mistyped fee pays
DEFAULT_MAX_FEE = 1_000_000  # sat (0.01 BTC)
_SIGHASH_NAMES = {
    0x00: "DEFAULT",
    0x01: "ALL",
    0x02: "NONE",
    0x03: "SINGLE",
    0x81: "ALL|ANYONECANPAY",
    0x82: "NONE|ANYONECANPAY",
    0x83: "SINGLE|ANYONECANPAY",
}


@dataclass(frozen=True, slots=True)
class Limits:
    max_fee_rate: int = DEFAULT_MAX_FEE_RATE  # sat per virtual byte of the estimated final transaction
    max_fee: int = DEFAULT_MAX_FEE  # sat
    current_height: int | None = None  # a lock time beyond the next block is unusual


@dataclass(frozen=True, slots=True)
class InputView:
    index: int
    txid: str  # display order
    vout: int
    sequence: int
    amount: int | None
    script_pubkey: bytes | None
    kind: str  # p2wsh, p2sh-p2wsh, p2wpkh, p2tr …
    network: Network
    utxo: str  # full, witness, both, none
    sighash: str
    required: int | None  # signatures the script needs (m of a multisig; 1 for one key)
    valid: int  # valid signatures from keys of the script
    signatures: tuple[SignatureCheck, ...]
    wallet: str | None = None  # the wallet whose descriptor re-derives the script spent (None: not proven ours)
    branch: int | None = None
    derivation_index: int | None = None

    @property
    def address(self) -> str | None:  # worked out for display only: a decision never needs it
        return script_to_address(self.script_pubkey, self.network) if self.script_pubkey is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "txid": self.txid,
            "vout": self.vout,
            "sequence": self.sequence,
            "amount": self.amount,
            "script_type": self.kind,
            "address": self.address,
            "utxo": self.utxo,
            "sighash": self.sighash,
            "required_signatures": self.required,
            "valid_signatures": self.valid,
            "signatures": [check.to_json() for check in self.signatures],
            "wallet": self.wallet,
            "branch": self.branch,
            "derivation_index": self.derivation_index,
            "script_pubkey": self.script_pubkey.hex() if self.script_pubkey is not None else None,
        }


@dataclass(frozen=True, slots=True)
class OutputView:
    index: int
    amount: int
    script_pubkey: bytes
    kind: str
    address: str | None
    role: str  # external, change, data, unknown
    wallet: str | None = None
    branch: int | None = None
    derivation_index: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "amount": self.amount,
            "address": self.address,
            "script_type": self.kind,
            "role": self.role,
            "wallet": self.wallet,
            "branch": self.branch,
            "derivation_index": self.derivation_index,
            "script_pubkey": self.script_pubkey.hex(),
        }


@dataclass(frozen=True, slots=True)
class PsbtReport:
    version: int
    network: Network
    unsigned_txid: str  # display order: what the release attestation binds
    tx_version: int
    locktime: int
    inputs: tuple[InputView, ...]
    outputs: tuple[OutputView, ...]
    fee: int | None
    vsize: int
    findings: tuple[Finding, ...]
    verdict: Verdict

    @property
    def blocks_signing(self) -> bool:
        return self.verdict.blocked

    @property
    def fee_rate(self) -> float | None:
        return None if self.fee is None else self.fee / self.vsize

    def to_json(self) -> dict[str, Any]:
        return {
            "psbt_version": self.version,
            "network": self.network.value,
            "unsigned_txid": self.unsigned_txid,
            "tx_version": self.tx_version,
            "locktime": self.locktime,
            "inputs": [item.to_json() for item in self.inputs],
            "outputs": [item.to_json() for item in self.outputs],
            "fee": self.fee,
            "estimated_vsize": self.vsize,
            "fee_rate": round(self.fee_rate, 2) if self.fee_rate is not None else None,
            "findings": [item.to_json() for item in self.findings],
            "verdict": self.verdict.label,
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
        _network_mismatch(families, network, findings)
    checks = check_all_signatures(psbt)
    inputs = [
        _input(index, txin.prev_txid, txin.vout, txin.sequence, fields, checked, wallets, network, findings)
        for index, (txin, fields, checked) in enumerate(zip(tx.inputs, psbt.inputs, checks, strict=True))
    ]
    outputs = [_output(psbt, index, out, wallets, network, findings) for index, out in enumerate(tx.outputs)]
    _check_consensus(tx.inputs, tx.outputs, inputs, findings)
    known = [item.amount for item in inputs]
    total_in = sum(a for a in known if a is not None) if all(a is not None for a in known) else None
    total_out = sum(out.amount for out in tx.outputs)
    fee = total_in - total_out if total_in is not None else None
    vsize = _estimated_vsize(psbt, tx, inputs)
    if fee is not None and fee < 0:
        findings.append(finding("FEE_NEGATIVE", "fee", inputs=_btc(total_in or 0), outputs=_btc(total_out)))
    elif fee is not None and (fee > limits.max_fee or fee > limits.max_fee_rate * vsize):
        limit = f"{limits.max_fee_rate} sat/vB and {_btc(limits.max_fee)}"
        findings.append(finding("FEE_EXCESSIVE", "fee", fee=_btc(fee), fee_rate=f"{fee / vsize:.1f}", limit=limit))
    _check_locktime(lock, tx.inputs, limits, findings)
    _check_modifiable(psbt, findings)
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


def _network_mismatch(families: set[bool | None], network: Network, findings: list[Finding]) -> None:
    """The PSBT's own extended keys (PSBT_GLOBAL_XPUB) are of another network than the one it is verified for:
    every address shown here would differ from what the signing device shows."""
    if len(families) > 1:
        stated, stated_ja = "both mainnet and test-network", "メインネットとテストネットワークの両方"
    elif True in families:
        stated, stated_ja = "test-network (tpub)", "テストネットワーク（tpub）"
    else:
        stated, stated_ja = "mainnet (xpub)", "メインネット（xpub）"
    findings.append(
        finding("NETWORK_MISMATCH", "global.xpubs", stated=stated, stated_ja=stated_ja, network=network.value)
    )


# What signatures.py found wrong with an input's data, as the findings a signer reads (code, what, reason).
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
    shown = _btc(amount) if amount is not None else "?"
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
        findings.append(finding("DATA_OUTPUT", path, output=index, size=len(info.program), amount=_btc(out.amount)))
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
                amount=_btc(out.amount),
                claimed=claimed,
                why=why,
                why_ja=why_ja,
            )
        )
        return OutputView(index, out.amount, out.script_pubkey, info.kind.value, address, "external")
    if address is None:
        findings.append(finding("OUTPUT_SCRIPT_UNKNOWN", path, output=index, amount=_btc(out.amount)))
        return OutputView(index, out.amount, out.script_pubkey, info.kind.value, None, "unknown")
    findings.append(finding("EXTERNAL_OUTPUT", path, output=index, amount=_btc(out.amount), address=address))
    return OutputView(index, out.amount, out.script_pubkey, info.kind.value, address, "external")


def _check_consensus(
    txins: Sequence[TxIn], txouts: Sequence[TxOut], inputs: Sequence[InputView], findings: list[Finding]
) -> None:
    """What no node accepts (CheckTransaction): an outpoint spent twice — the amounts would be counted twice and the
    fee shown wrong (CVE-2018-17144) — the null outpoint of a coinbase, and amounts outside 0 … 21 million BTC."""
    first: dict[tuple[bytes, int], int] = {}
    for index, txin in enumerate(txins):
        outpoint = f"{display_hex(txin.prev_txid)}:{txin.vout}"
        earlier = first.setdefault((txin.prev_txid, txin.vout), index)
        if earlier != index:
            _invalid(findings, f"inputs[{index}]", f"inputs {earlier} and {index} both spend {outpoint}",
                     f"入力 {earlier} と {index} が同じ {outpoint} を使用しています")  # fmt: skip
        if txin.prev_txid == bytes(32) and txin.vout == 0xFFFFFFFF:
            _invalid(findings, f"inputs[{index}]", f"input {index} spends the null outpoint of a coinbase",
                     f"入力 {index} がコインベースの空のアウトポイントを使用しています")  # fmt: skip
    for item in inputs:
        if item.amount is not None and not 0 <= item.amount <= MAX_MONEY:
            _invalid(findings, f"inputs[{item.index}]", f"input {item.index} spends an amount of {item.amount} sat",
                     f"入力 {item.index} が使用する金額が {item.amount} sat です")  # fmt: skip
    for index, out in enumerate(txouts):
        if not 0 <= out.amount <= MAX_MONEY:
            _invalid(findings, f"outputs[{index}]", f"output {index} pays {out.amount} sat",
                     f"出力 {index} の金額が {out.amount} sat です")  # fmt: skip
    if sum(out.amount for out in txouts) > MAX_MONEY:
        _invalid(findings, "outputs", "the outputs pay more than 21 million BTC in all",
                 "出力の合計が 2,100 万 BTC を超えています")  # fmt: skip


def _invalid(findings: list[Finding], where: str, reason: str, reason_ja: str) -> None:
    findings.append(finding("TRANSACTION_INVALID", where, reason=reason, reason_ja=reason_ja))


def _check_locktime(lock: int, inputs: Sequence[Any], limits: Limits, findings: list[Finding]) -> None:
    if lock == 0:
        return
    if all(txin.sequence == SEQUENCE_FINAL for txin in inputs):
        findings.append(
            finding(
                "LOCKTIME_UNUSUAL",
                "locktime",
                locktime=lock,
                reason="every input's sequence is final, so it has no effect: the PSBT is inconsistent",
                reason_ja="全入力のシーケンスが最終値のため効果がなく、PSBT の内容に矛盾があります",
            )
        )
    elif lock >= LOCKTIME_THRESHOLD:
        findings.append(
            finding(
                "LOCKTIME_UNUSUAL",
                "locktime",
                locktime=lock,
                reason="a Unix time: the transaction cannot be mined before then",
                reason_ja="Unix 時刻の指定であり、その時刻まで取引は承認されません",
            )
        )
    elif limits.current_height is not None and lock > limits.current_height + 1:
        findings.append(
            finding(
                "LOCKTIME_UNUSUAL",
                "locktime",
                locktime=lock,
                reason=f"block {lock} is ahead of the chain (at {limits.current_height})",
                reason_ja=f"ブロック {lock} は現在の高さ {limits.current_height} より先です",
            )
        )


def _check_modifiable(psbt: Psbt, findings: list[Finding]) -> None:
    flags = psbt.tx_modifiable or 0
    what = [name for bit, name in ((0, "inputs"), (1, "outputs")) if flags & (1 << bit)]
    what_ja = [name for bit, name in ((0, "入力"), (1, "出力")) if flags & (1 << bit)]
    if what:
        findings.append(
            finding("PSBT_MODIFIABLE", "global.tx_modifiable", what=" and ".join(what), what_ja="・".join(what_ja))
        )


def _estimated_vsize(psbt: Psbt, tx: Any, inputs: Sequence[InputView]) -> int:
    """The final transaction's virtual size, from the unsigned one and what each input's kind will carry."""
    base = 4 + 4 + _compact_len(len(tx.inputs)) + _compact_len(len(tx.outputs))
    base += sum(32 + 4 + 4 for _ in tx.inputs)
    base += sum(8 + _compact_len(len(out.script_pubkey)) + len(out.script_pubkey) for out in tx.outputs)
    witness = 0
    for view, fields in zip(inputs, psbt.inputs, strict=True):
        script_sig, stack = _final_sizes(view, fields)
        base += _compact_len(script_sig) + script_sig
        witness += stack
    weight = base * 4 + (witness + 2 if witness else 0)
    return max(1, -(-weight // 4))


def _final_sizes(view: InputView, fields: PsbtInput) -> tuple[int, int]:
    """(scriptSig bytes, witness bytes) once the input is finalized (signatures counted at 72 bytes)."""
    if fields.final_script_sig is not None or fields.final_script_witness is not None:
        stack = fields.final_script_witness
        witness = _compact_len(len(stack)) + sum(_compact_len(len(i)) + len(i) for i in stack) if stack else 0
        return len(fields.final_script_sig or b""), witness
    m = view.required or 1  # a multisig script's m (signature checks parsed it), else one signature
    if view.kind in ("p2wsh", "p2sh-p2wsh"):
        script = fields.witness_script or b""
        witness = 1 + 1 + m * 73 + _compact_len(len(script)) + len(script)
        return (35 if view.kind == "p2sh-p2wsh" else 0), witness
    if view.kind in ("p2wpkh", "p2sh-p2wpkh"):
        return (23 if view.kind == "p2sh-p2wpkh" else 0), 1 + 73 + 34
    if view.kind == "p2tr":
        return 0, 1 + 65
    if view.kind == "p2sh":
        script = fields.redeem_script or b""
        return 1 + m * 73 + (1 if len(script) < 76 else 2) + len(script), 0
    return 107, 0  # p2pkh and the rest: one signature and one key


def _compact_len(value: int) -> int:
    return 1 if value < 0xFD else 3 if value <= 0xFFFF else 5


def _path_text(path: tuple[int, ...]) -> str:
    return "m/" + "/".join(f"{p & 0x7FFFFFFF}'" if p & 0x80000000 else str(p) for p in path)


def _btc(amount: int) -> str:
    whole, rest = divmod(abs(amount), SATOSHI_PER_BTC)
    sign = "-" if amount < 0 else ""
    return f"{sign}{whole}.{rest:08d} BTC ({amount:,} sat)"

"""Checks of the transaction as a whole: what no node accepts, the lock time, what a version 2 PSBT lets others
change after signing, the network its own extended keys are for, and the final size the fee rate is taken on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mamori.chains.bitcoin.networks import Network
from mamori.chains.bitcoin.psbt import Psbt, PsbtInput
from mamori.chains.bitcoin.transaction import LOCKTIME_THRESHOLD, SEQUENCE_FINAL, TxIn, TxOut, display_hex
from mamori.verify.model import Finding, finding
from mamori.verify.psbt_report import SATOSHI_PER_BTC, InputView, Limits

MAX_MONEY = 21_000_000 * SATOSHI_PER_BTC  # consensus: no amount, nor the sum of a transaction's outputs, above it


def network_mismatch(families: set[bool | None], network: Network, findings: list[Finding]) -> None:
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


def check_consensus(
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


def check_locktime(lock: int, inputs: Sequence[Any], limits: Limits, findings: list[Finding]) -> None:
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


def check_modifiable(psbt: Psbt, findings: list[Finding]) -> None:
    flags = psbt.tx_modifiable or 0
    what = [name for bit, name in ((0, "inputs"), (1, "outputs")) if flags & (1 << bit)]
    what_ja = [name for bit, name in ((0, "入力"), (1, "出力")) if flags & (1 << bit)]
    if what:
        findings.append(
            finding("PSBT_MODIFIABLE", "global.tx_modifiable", what=" and ".join(what), what_ja="・".join(what_ja))
        )


def estimated_vsize(psbt: Psbt, tx: Any, inputs: Sequence[InputView]) -> int:
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

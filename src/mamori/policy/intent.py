"""From a verification report to the facts a policy compares with the request: who pays, what moves where.

Only plain value movements count as transfers (a native transfer, an ERC-20 ``transfer``, or a batch of them);
anything else — a DELEGATECALL, an approval, an owner change, an unknown call — makes the transaction "not a
plain transfer", which a withdrawal request can never match.
"""

from __future__ import annotations

from mamori.chains.evm.encoding import hex0x
from mamori.policy.facts import FindingFact, TransactionFacts, Transfer, normalise_address
from mamori.verify.evm import EvmTxReport
from mamori.verify.model import CallNode, Finding
from mamori.verify.psbt import PsbtReport
from mamori.verify.safe import SafeTxReport

_TRANSFER_KINDS = frozenset({"native_transfer", "erc20_transfer"})


def transaction_facts(report: SafeTxReport | EvmTxReport) -> TransactionFacts:
    max_fee = 0
    if isinstance(report, SafeTxReport):
        source: str | None = hex0x(report.tx.safe)
    else:
        sender = report.tx.sender
        source = hex0x(sender) if sender is not None else None
        # The network fee comes out of the sending account on top of the value: gas limit x the price cap.
        price = report.tx.max_fee_per_gas if report.tx.max_fee_per_gas is not None else report.tx.gas_price or 0
        max_fee = report.tx.gas_limit * price
    transfers: list[Transfer] = []
    problems: list[str] = []
    addresses: list[str] = []
    _walk(report.call, transfers, problems, addresses)
    return TransactionFacts(
        source=source or "",
        transfers=tuple(transfers),
        problem="; ".join(problems) or None,
        findings=tuple(_finding_fact(f) for f in report.findings),
        addresses=tuple(dict.fromkeys(addresses)),
        kind="safe" if isinstance(report, SafeTxReport) else "evm",
        max_fee=max_fee,
    )


def psbt_facts(report: PsbtReport, chain: str) -> TransactionFacts:
    """A PSBT's payments: every output that is not provably the wallet's change. An output of no address (data,
    unknown script) makes it "not a plain transfer"; so does an unknown fee (the amount spent is not established).
    Inputs not proven to spend the wallet's own outputs are listed: the evaluator denies them."""
    transfers = tuple(
        Transfer(None, normalise_address(chain, out.address), out.amount)
        for out in report.outputs
        if out.role == "external" and out.address is not None
    )
    problems = [f"output {out.index} pays a {out.kind} script" for out in report.outputs if out.address is None]
    if report.fee is None:
        problems.append("the amounts the inputs spend are not established")
    return TransactionFacts(
        source="",
        transfers=transfers,
        problem="; ".join(problems) or None,
        findings=tuple(_finding_fact(f) for f in report.findings),
        addresses=tuple(dict.fromkeys(t.destination for t in transfers)),
        kind="psbt",
        max_fee=report.fee if report.fee is not None else 0,
        # verify_psbt was given only the request's wallet: an input it did not prove spends someone else's coins
        foreign_inputs=tuple(item.index for item in report.inputs if item.wallet is None),
    )


def _walk(node: CallNode, transfers: list[Transfer], problems: list[str], addresses: list[str]) -> None:
    if node.to:
        addresses.append(hex0x(node.to))
    for arg in node.args:
        if arg.type == "address" and isinstance(arg.value, bytes):
            addresses.append(hex0x(arg.value))
    if node.kind == "multisend" and node.operation == 1:
        for child in node.calls:
            _walk(child, transfers, problems, addresses)
        return
    if node.operation != 0 or node.kind not in _TRANSFER_KINDS:
        problems.append(f"{node.kind} to {hex0x(node.to) if node.to else 'a new contract'}")
        return
    if node.kind == "native_transfer":
        transfers.append(Transfer(None, hex0x(node.to), node.value))
        return
    values = {arg.name: arg.value for arg in node.args}
    recipient, amount = values.get("to"), values.get("amount")
    if not isinstance(recipient, bytes) or not isinstance(amount, int):
        problems.append(f"undecoded token transfer on {hex0x(node.to)}")
        return
    transfers.append(Transfer(hex0x(node.to), hex0x(recipient), amount))
    if node.value:
        transfers.append(Transfer(None, hex0x(node.to), node.value))  # ETH sent along with the token call


def _finding_fact(item: Finding) -> FindingFact:
    return FindingFact(item.code, item.severity.value, item.message_en, item.message_ja)

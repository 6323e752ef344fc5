"""Human views of verification reports (Rich), drawn from the same JSON dicts that ``--json`` prints.

Hashes are shown twice: as one lowercase 0x string, and in the upper-case groups of four that hardware wallets
display, so a signer can compare the device's screen digit by digit.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def device_groups(hex_hash: str) -> str:
    """``0xb3476d06…`` → ``B347 6D06 …`` (8 groups per line), the form a device screen shows."""
    digits = hex_hash.removeprefix("0x").upper()
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    return "\n".join(" ".join(groups[i : i + 8]) for i in range(0, len(groups), 8))


def _pick(message: dict[str, str], lang: str) -> str:
    if lang == "both":
        return f"{message['en']}\n{message['ja']}"
    return message[lang]


def verdict_panel(verdict: str, lang: str) -> Panel:
    if verdict == "blocked":
        text = {
            "en": "DO NOT SIGN: findings block signing",
            "ja": "署名しないでください: 署名を止める検出事項があります",
        }
        style = "bold white on red"
    else:
        text = {"en": "No blocking findings", "ja": "署名を止める検出事項はありません"}
        style = "bold white on green"
    return Panel(Text(_pick(text, lang), style=style), title="verdict / 判定")


def call_tree(call: dict[str, Any], lang: str) -> Tree:
    tree = Tree(_call_label(call, lang))
    _add_children(tree, call, lang)
    return tree


def _add_children(node: Tree, call: dict[str, Any], lang: str) -> None:
    for child in call.get("calls", []):
        branch = node.add(_call_label(child, lang))
        _add_children(branch, child, lang)


def _call_label(call: dict[str, Any], lang: str) -> Text:
    operation = call["operation"]
    style = "bold red" if operation != "call" else "bold"
    label = Text(f"[{operation}] ", style=style)
    target = call.get("to") or "(contract creation)"
    label.append(f"{call['kind']} → {target}")
    if call.get("to_label"):
        label.append(f" ({call['to_label']})", style="green")
    if call.get("value", "0") != "0":
        label.append(f"  value {call['value']} wei", style="bold yellow")
    summary = call.get("summary") or {}
    if summary.get("en"):
        label.append("\n" + _pick(summary, lang), style="italic")
    if call.get("function"):
        label.append(f"\n{call['function']}", style="dim")
        for name, value in (call.get("args") or {}).items():
            label.append(f"\n  {name} = {value}", style="dim")
    elif call.get("selector"):
        label.append(f"\nselector {call['selector']} ({call['data_size']} bytes of data)", style="dim")
    return label


def findings_table(findings: list[dict[str, Any]], lang: str) -> Table:
    table = Table(title="findings / 検出事項", show_lines=True, expand=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("code", no_wrap=True)
    table.add_column("where", no_wrap=True)
    table.add_column("message / 内容")
    for item in findings:
        table.add_row(
            Text(item["severity"], style=SEVERITY_STYLE.get(item["severity"], "")),
            item["code"],
            item.get("path", ""),
            _pick(item["message"], lang),
        )
    return table


def render_safe_report(console: Console, report: dict[str, Any], lang: str) -> None:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for key in (
        "safe",
        "chain_id",
        "safe_version",
        "nonce",
        "to",
        "value",
        "operation",
        "gas_price",
        "gas_token",
        "refund_receiver",
    ):
        head.add_row(key, str(report[key]))
    hashes = Table(title="hashes the signing device shows / 署名デバイスに表示されるハッシュ", expand=True)
    hashes.add_column("hash", style="bold", no_wrap=True)
    hashes.add_column("0x…")
    hashes.add_column("device form / デバイス表示形式", no_wrap=True)
    for key, name in (
        ("domain_hash", "EIP-712 domain hash"),
        ("message_hash", "EIP-712 message hash"),
        ("safe_tx_hash", "safeTxHash"),
        ("eth_sign_digest", "eth_sign digest"),
    ):
        hashes.add_row(name, report[key], device_groups(report[key]))
    if report.get("claimed_safe_tx_hash") and report["claimed_safe_tx_hash"] != report["safe_tx_hash"]:
        hashes.add_row(
            Text("claimed (record)", style="bold red"),
            report["claimed_safe_tx_hash"],
            device_groups(report["claimed_safe_tx_hash"]),
        )
    parts: list[Any] = [
        verdict_panel(report["verdict"], lang),
        head,
        hashes,
        Panel(call_tree(report["call"], lang), title="what it really does / 実際の動作"),
    ]
    if report["signatures"]:
        parts.append(signatures_table(report["signatures"]))
    if report.get("exec_transaction_calldata_hash"):
        parts.append(Text(f"execTransaction calldata hash: {report['exec_transaction_calldata_hash']}"))
    if report["findings"]:
        parts.append(findings_table(report["findings"], lang))
    console.print(Group(*parts))


def signatures_table(signatures: list[dict[str, Any]]) -> Table:
    table = Table(title="signatures / 署名", expand=True)
    for column in ("source", "type", "stated owner", "recovered", "valid", "note"):
        wide = column in ("stated owner", "recovered")
        table.add_column(column, min_width=42 if wide else None, overflow="fold", no_wrap=column == "source")
    for item in signatures:
        valid = item["valid"]
        shown = Text("yes", style="green") if valid else Text("NO", style="bold red") if valid is False else Text("?")
        table.add_row(
            item["source"],
            item["type"],
            item["stated_owner"] or "-",
            item["recovered"] or "-",
            shown,
            item.get("note") or "",
        )
    return table


def render_evm_report(console: Console, report: dict[str, Any], lang: str) -> None:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for key in (
        "type",
        "chain_id",
        "nonce",
        "sender",
        "to",
        "value",
        "gas_limit",
        "gas_price",
        "max_fee_per_gas",
        "max_priority_fee_per_gas",
        "signed",
        "signing_hash",
        "tx_hash",
    ):
        if report.get(key) is not None:
            head.add_row(key, str(report[key]))
    parts: list[Any] = [verdict_panel(report["verdict"], lang), head]
    if report.get("signing_hash"):
        parts.append(Panel(Text(device_groups(report["signing_hash"])), title="signing hash (device form)"))
    parts.append(Panel(call_tree(report["call"], lang), title="what it really does / 実際の動作"))
    authorizations = report.get("authorization_list") or []
    if authorizations:
        table = Table(title="EIP-7702 authorizations", expand=True)
        keys = list(authorizations[0].keys())
        for key in keys:
            table.add_column(key)
        for item in authorizations:
            table.add_row(*(str(item.get(key)) for key in keys))
        parts.append(table)
    if report["findings"]:
        parts.append(findings_table(report["findings"], lang))
    console.print(Group(*parts))


def render_psbt_report(console: Console, report: dict[str, Any], lang: str) -> None:
    """A PSBT: where every satoshi goes (change proven by derivation), the inputs and their signatures, the fee."""
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for key in ("network", "psbt_version", "unsigned_txid", "tx_version", "locktime", "fee", "estimated_vsize",
                "fee_rate"):  # fmt: skip
        if report.get(key) is not None:
            head.add_row(key, str(report[key]))
    outputs = Table(title="where the bitcoin goes / 送金先", expand=True)
    for column in ("#", "role", "amount (sat)", "address", "wallet / path"):
        outputs.add_column(column)
    for out in report["outputs"]:
        style = "green" if out["role"] == "change" else "bold" if out["role"] == "external" else "red"
        where = f"{out['wallet']} {out['branch']}/{out['derivation_index']}" if out["wallet"] else ""
        outputs.add_row(str(out["index"]), Text(out["role"], style=style), f"{out['amount']:,}",
                        out["address"] or out["script_pubkey"], where)  # fmt: skip
    inputs = Table(title="inputs / 入力", expand=True)
    for column in ("#", "outpoint", "amount (sat)", "type", "utxo", "sighash", "signatures", "wallet / path"):
        inputs.add_column(column)
    for item in report["inputs"]:
        amount = f"{item['amount']:,}" if item["amount"] is not None else "?"
        quorum = f"{item['valid_signatures']}/{item['required_signatures']}" if item["required_signatures"] else "-"
        where = f"{item['wallet']} {item['branch']}/{item['derivation_index']}" if item.get("wallet") else ""
        inputs.add_row(str(item["index"]), f"{item['txid']}:{item['vout']}", amount, item["script_type"],
                       item["utxo"], item["sighash"], quorum, where)  # fmt: skip
    parts: list[Any] = [verdict_panel(report["verdict"], lang), head, outputs, inputs]
    parts.append(Panel(Text(device_groups(report["unsigned_txid"])), title="unsigned txid (device form)"))
    if report["findings"]:
        parts.append(findings_table(report["findings"], lang))
    console.print(Group(*parts))


def render_error(console: Console, error: dict[str, Any]) -> None:
    body = error["error"]
    console.print(f"[bold red]error {body['code']}[/]: {body['message']['en']}\n{body['message']['ja']}")

"""Results of verification: findings, the decoded call tree, signature checks, and the verdict.

Plain frozen dataclasses with slots: they are built on the hot path of ``--batch`` verification.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple

from mamori.chains.evm.encoding import hex0x, to_checksum_address
from mamori.verify.codes import FINDING_CATALOG


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def blocks_signing(self) -> bool:
        return self in (Severity.CRITICAL, Severity.HIGH)


SEVERITY_ORDER = {s: i for i, s in enumerate(Severity)}

ArgValue = bytes | int | bool | str | None


class Finding(NamedTuple):
    code: str
    severity: Severity
    message_en: str
    message_ja: str
    path: str
    details: tuple[tuple[str, ArgValue], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": {"en": self.message_en, "ja": self.message_ja},
            "path": self.path,
            "details": {key: json_value(value) for key, value in self.details},
        }


def finding(code: str, path: str, **details: ArgValue) -> Finding:
    """Build a finding from the catalog; message templates are filled with display forms of the details.

    A ``<name>_ja`` field that was not given falls back to ``<name>`` (addresses, numbers, codes read the same)."""
    severity, en, ja = FINDING_CATALOG[code]
    shown = _Fields({key: display_value(value) for key, value in details.items()})
    return Finding(code, Severity(severity), en.format_map(shown), ja.format_map(shown), path, tuple(details.items()))


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        if key.endswith("_ja") and key[:-3] in self:
            return self[key[:-3]]
        return "{" + key + "}"  # never crash a verification over a message; tests check every template


def display_value(value: ArgValue) -> str:
    if isinstance(value, bytes):
        return to_checksum_address(value) if len(value) == 20 else hex0x(value)
    return str(value)


def json_number(value: int) -> int | str:
    """A JSON number where every reader keeps it exact (below 2**53), else its decimal string."""
    return value if value < 1 << 53 else str(value)


def json_value(value: ArgValue) -> Any:
    """Addresses in EIP-55 form, other bytes as lowercase 0x hex, integers as decimal strings (uint256 fits)."""
    if isinstance(value, bytes):
        return to_checksum_address(value) if len(value) == 20 else hex0x(value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    return str(value)


class Arg(NamedTuple):
    name: str
    type: str
    value: ArgValue


class CallNode(NamedTuple):
    """One call the transaction makes, with what it means and the calls it contains (multiSend, execTransaction)."""

    operation: int
    to: bytes
    value: int
    data: bytes
    kind: str
    function: str | None = None
    args: tuple[Arg, ...] = ()
    calls: tuple[CallNode, ...] = ()
    to_label: str | None = None
    summary_en: str = ""
    summary_ja: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": operation_name(self.operation),
            "to": to_checksum_address(self.to) if self.to else None,
            "to_label": self.to_label,
            "value": str(self.value),
            "data_size": len(self.data),
            "selector": hex0x(self.data[:4]) if len(self.data) >= 4 else None,
            "kind": self.kind,
            "function": self.function,
            "args": {arg.name: json_value(arg.value) for arg in self.args},
            "summary": dict(zip(("en", "ja"), describe_call(self), strict=True)),
            "calls": [child.to_json() for child in self.calls],
        }


def describe_call(node: CallNode) -> tuple[str, str]:
    """The call in plain words (English, Japanese). Built on output, not while verifying: the hot path of a
    batch decodes and judges; words are only needed for what is printed. ETH sent along with any call that is
    not itself a transfer is always spelled out: value must never hide inside a call."""
    en, ja = _describe_kind(node)
    if node.value and node.kind != "native_transfer":
        amount = format_units(node.value, 18)
        if node.operation == 1:
            en += f" (value {amount} ETH is not sent by a DELEGATECALL)"
            ja += f"（DELEGATECALL のため {amount} ETH の value は送金されません）"
        else:
            en += f", sending {amount} ETH ({node.value} wei) with the call"
            ja += f"、同時に {amount} ETH（{node.value} wei）を送金"
    return en, ja


def _describe_kind(node: CallNode) -> tuple[str, str]:
    if node.summary_en:
        return node.summary_en, node.summary_ja
    args = {arg.name: display_value(arg.value) for arg in node.args}
    target = to_checksum_address(node.to) if node.to else ""
    if node.kind == "native_transfer":
        amount = format_units(node.value, 18)
        return (
            f"Send {amount} ETH ({node.value} wei) to {target}",
            f"{target} へ {amount} ETH（{node.value} wei）を送金",
        )
    if node.kind == "erc20_transfer":
        return (
            f"Transfer {args['amount']} base units of token {target} to {args['to']}",
            f"トークン {target} を {args['amount']} 基本単位、{args['to']} へ送金",
        )
    if node.kind == "erc20_transfer_from":
        return (
            f"Move {args['amount']} base units of token {target} from {args['from']} to {args['to']}",
            f"トークン {target} を {args['amount']} 基本単位、{args['from']} から {args['to']} へ移動",
        )
    if node.kind == "erc20_approve":
        return (
            f"Allow {args['spender']} to spend {args['amount']} base units of token {target}",
            f"{args['spender']} にトークン {target} を {args['amount']} 基本単位まで使用を許可",
        )
    if node.kind == "erc20_increase_allowance":
        return (
            f"Increase the allowance of {args['spender']} by {args['amount']} base units of token {target}",
            f"{args['spender']} のトークン {target} の使用許可額を {args['amount']} 基本単位増額",
        )
    if node.kind == "multisend":
        return f"Batch of {len(node.calls)} call(s)", f"{len(node.calls)} 件の呼び出しのバッチ"
    if node.kind == "unknown":
        return (
            f"Call an unknown function on {target}: not decoded",
            f"{target} の不明な関数を呼び出し（デコード不可）",
        )
    if node.kind == "malformed":
        return (
            f"Call data for {node.function} that does not decode",
            f"{node.function} としてデコードできないコールデータ",
        )
    return node.kind, node.kind


def format_units(amount: int, decimals: int) -> str:
    """Exact decimal rendering of a base-unit amount (no floats)."""
    whole, fraction = divmod(amount, 10**decimals)
    if not fraction:
        return f"{whole:,}"
    return f"{whole:,}." + str(fraction).rjust(decimals, "0").rstrip("0")


def operation_name(operation: int) -> str:
    if operation == 0:
        return "call"
    if operation == 1:
        return "delegatecall"
    return f"invalid({operation})"


class SignatureCheck(NamedTuple):
    """One collected signature: who it claims to be from, who it really recovers to, and whether that is valid.

    ``valid`` is None when the signature cannot be verified offline (contract signatures, on-chain approvals).
    """

    source: str
    kind: str
    stated_owner: bytes | None
    recovered: bytes | None
    valid: bool | None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "type": self.kind,
            "stated_owner": to_checksum_address(self.stated_owner) if self.stated_owner else None,
            "recovered": to_checksum_address(self.recovered) if self.recovered else None,
            "valid": self.valid,
            "note": self.note or None,
        }


class Verdict(NamedTuple):
    blocked: bool
    highest: Severity | None

    @property
    def label(self) -> str:
        return "blocked" if self.blocked else "ok"


NOTHING_FOUND = Verdict(blocked=False, highest=None)


def verdict_of(findings: tuple[Finding, ...] | list[Finding]) -> Verdict:
    if not findings:
        return NOTHING_FOUND
    highest: Severity | None = None
    for item in findings:
        if highest is None or SEVERITY_ORDER[item.severity] < SEVERITY_ORDER[highest]:
            highest = item.severity
    return Verdict(blocked=highest is not None and highest.blocks_signing, highest=highest)


def sort_findings(findings: list[Finding]) -> tuple[Finding, ...]:
    if len(findings) < 2:
        return tuple(findings)
    return tuple(sorted(findings, key=lambda f: SEVERITY_ORDER[f.severity]))

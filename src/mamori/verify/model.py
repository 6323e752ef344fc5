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
    """Build a finding from the catalog; message templates are filled with display forms of the details."""
    severity, en, ja = FINDING_CATALOG[code]
    shown = {key: display_value(value) for key, value in details.items()}
    return Finding(code, Severity(severity), en.format(**shown), ja.format(**shown), path, tuple(details.items()))


def display_value(value: ArgValue) -> str:
    if isinstance(value, bytes):
        return to_checksum_address(value) if len(value) == 20 else hex0x(value)
    return str(value)


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
            "summary": {"en": self.summary_en, "ja": self.summary_ja},
            "calls": [child.to_json() for child in self.calls],
        }


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


def verdict_of(findings: tuple[Finding, ...] | list[Finding]) -> Verdict:
    highest: Severity | None = None
    for item in findings:
        if highest is None or SEVERITY_ORDER[item.severity] < SEVERITY_ORDER[highest]:
            highest = item.severity
    return Verdict(blocked=highest is not None and highest.blocks_signing, highest=highest)


def sort_findings(findings: list[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: SEVERITY_ORDER[f.severity]))

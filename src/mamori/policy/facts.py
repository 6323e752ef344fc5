"""Facts: what the caller knows when a withdrawal is decided (balances, velocity counters, the address book,
screening hits, verification results, approvals). The evaluator never fetches anything itself.

``velocity_counters`` computes the counters from a list of past withdrawals for callers without a database
(the CLI); the guard service gets the same numbers from SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mamori.chains.addresses import Family, classify
from mamori.chains.evm.encoding import parse_address


@dataclass(frozen=True, slots=True)
class AddressBookEntry:
    chain: str
    address: str  # normalised (normalise_address)
    label: str
    added_at: datetime
    approved_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScreeningHit:
    list: str
    version: str
    listed_as: str
    indicator: str | None = None  # the STIX indicator behind a hit of an intelligence feed (service/intel_feed.py)


@dataclass(frozen=True, slots=True)
class FindingFact:
    code: str
    severity: str
    message_en: str
    message_ja: str


@dataclass(frozen=True, slots=True)
class Transfer:
    """One movement of value the transaction makes, as decoded from its bytes."""

    token: str | None  # None: the native coin; else the token contract, normalised
    destination: str  # normalised
    amount: int


@dataclass(frozen=True, slots=True)
class TransactionFacts:
    """What verifying the attached transaction established (see policy/intent.py)."""

    source: str  # the account that executes it (Safe address or sender), normalised
    transfers: tuple[Transfer, ...]
    problem: str | None  # why it is not a plain set of transfers, if it is not
    findings: tuple[FindingFact, ...]
    addresses: tuple[str, ...]  # every address the decoded calls touch, for screening
    kind: str = "safe"  # "safe" (a Safe record), "evm" (a raw transaction the wallet's own key signs) or "psbt"
    max_fee: int = 0  # the most the transaction can pay in network fees (a PSBT: its fee), in native base units
    foreign_inputs: tuple[int, ...] = ()  # a PSBT's inputs whose scripts do not re-derive from the wallet's descriptor


@dataclass(frozen=True, slots=True)
class VelocityCounter:
    count: int  # withdrawals already made in the window, this one excluded
    amount: int  # their total, in base units of the limit's asset


@dataclass(frozen=True, slots=True)
class Approval:
    approver: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Facts:
    balances: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (wallet, asset) -> base units
    velocity: Mapping[str, VelocityCounter] = field(default_factory=dict)  # limit id -> counter
    address_book: Mapping[tuple[str, str], AddressBookEntry] = field(default_factory=dict)  # (chain, address)
    screening: Mapping[str, tuple[ScreeningHit, ...]] = field(default_factory=dict)  # address -> hits
    transaction: TransactionFacts | None = None
    approvals: tuple[Approval, ...] = ()
    screened_lists: frozenset[str] = frozenset()  # the lists consulted for this decision


@dataclass(frozen=True, slots=True)
class PastWithdrawal:
    wallet: str
    asset: str
    destination: str  # normalised
    initiator: str
    amount: int
    at: datetime


def normalise_address(chain: str, address: str) -> str:
    """The form addresses are compared in: EVM addresses lowercase hex (checksum checked when mixed case);
    case-insensitive forms (bech32, CashAddr) lowercase, so ``BC1Q…`` cannot slip past a rule on ``bc1q…``;
    every other form (base58 is case-sensitive) exactly as written, without surrounding spaces."""
    text = address.strip()
    if chain.startswith("eip155:"):
        return "0x" + parse_address(text, field="address").hex()
    if text:
        family, canonical, _, _ = classify(text, check_case=False)
        # Lower the case only where it does not change which address it is (bech32, CashAddr; not base58).
        if family is not Family.OTHER and classify(text.lower(), check_case=False)[1] == canonical:
            return text.lower()
    return text


def window_start(now: datetime, seconds: int) -> datetime:
    return now - timedelta(seconds=seconds)

"""What verifying a PSBT establishes, as the report a signer reads: each input and output, the fee, the findings.

Also the limits a verification applies (fee rate, fee, the chain's height) and the display of amounts in BTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mamori.chains.bitcoin.address import script_to_address
from mamori.chains.bitcoin.networks import Network
from mamori.chains.bitcoin.signatures import SignatureCheck
from mamori.verify.model import Finding, Verdict

SATOSHI_PER_BTC = 100_000_000
DEFAULT_MAX_FEE_RATE = 500  # sat/vB: far above any ordinary market, below what a mistyped fee pays
DEFAULT_MAX_FEE = 1_000_000  # sat (0.01 BTC)


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


def btc(amount: int) -> str:
    whole, rest = divmod(abs(amount), SATOSHI_PER_BTC)
    sign = "-" if amount < 0 else ""
    return f"{sign}{whole}.{rest:08d} BTC ({amount:,} sat)"

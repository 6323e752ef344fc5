"""The results: verdicts and problems of signatures and inputs, the kinds of spend, and the records
:func:`~mamori.chains.bitcoin.signatures.check_input_signatures` returns for each input and signature."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from mamori.chains.bitcoin.script import ScriptKind
from mamori.chains.bitcoin.transaction import TxOut


class SignatureVerdict(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNVERIFIABLE = "unverifiable"  # the data the signature hash needs is missing or untrusted


class SignatureProblem(StrEnum):
    ENCODING_INVALID = "encoding_invalid"  # not strict DER (BIP-66) with a hash type, or not a 64/65-byte Schnorr sig
    HIGH_S = "high_s"  # S above n/2: valid by consensus, non-standard (BIP-146); verified after normalizing
    SIGHASH_TYPE_UNDEFINED = "sighash_type_undefined"  # not ALL, NONE, SINGLE (| ANYONECANPAY) (or DEFAULT, taproot)
    SIGHASH_TYPE_MISMATCH = "sighash_type_mismatch"  # differs from the input's PSBT_IN_SIGHASH_TYPE
    SIGHASH_SINGLE_WITHOUT_OUTPUT = "sighash_single_without_output"  # SINGLE on an input with no output of its index
    PUBKEY_INVALID = "pubkey_invalid"  # not a point of the curve
    PUBKEY_NOT_IN_SCRIPT = "pubkey_not_in_script"  # the key cannot satisfy this input's script
    UNCOMPRESSED_KEY_IN_SEGWIT = "uncompressed_key_in_segwit"  # non-standard in segwit v0 (BIP-143 policy)
    LEAF_SCRIPT_UNKNOWN = "leaf_script_unknown"  # TAP_SCRIPT_SIG for a leaf without its TAP_LEAF_SCRIPT
    WRONG_SCHEME = "wrong_scheme"  # ECDSA on a taproot input, or Schnorr on an input that is not taproot
    DOES_NOT_VERIFY = "does_not_verify"  # well formed, but not a signature by this key of this input
    SIGHASH_UNAVAILABLE = "sighash_unavailable"  # see the input's problems: missing UTXOs or scripts


class InputProblem(StrEnum):
    UTXO_MISSING = "utxo_missing"  # neither NON_WITNESS_UTXO nor WITNESS_UTXO
    NON_WITNESS_UTXO_TXID_MISMATCH = "non_witness_utxo_txid_mismatch"  # its hash is not the outpoint's txid: ignored
    NON_WITNESS_UTXO_OUTPUT_MISSING = "non_witness_utxo_output_missing"  # it has no output at the outpoint's index
    NON_WITNESS_UTXO_MISSING = "non_witness_utxo_missing"  # segwit v0 with WITNESS_UTXO only: amount unproven
    WITNESS_UTXO_MISMATCH = "witness_utxo_mismatch"  # WITNESS_UTXO differs from the proven previous output
    WITNESS_UTXO_FOR_NON_WITNESS_INPUT = "witness_utxo_for_non_witness_input"  # BIP-174 signer check
    REDEEM_SCRIPT_MISSING = "redeem_script_missing"
    REDEEM_SCRIPT_MISMATCH = "redeem_script_mismatch"  # does not hash to the P2SH scriptPubKey
    WITNESS_SCRIPT_MISSING = "witness_script_missing"
    WITNESS_SCRIPT_MISMATCH = "witness_script_mismatch"  # does not hash to the P2WSH program
    SCRIPT_UNSUPPORTED = "script_unsupported"  # not a template whose signing keys are known
    SPENT_OUTPUTS_MISSING = "spent_outputs_missing"  # taproot signs every input's spent output; some are unknown
    TRANSACTION_UNDETERMINED = "transaction_undetermined"  # version 2: no lock time satisfies every input


class SpendKind(StrEnum):
    P2PK = "p2pk"
    P2PKH = "p2pkh"
    BARE_MULTISIG = "bare_multisig"
    P2SH = "p2sh"  # legacy P2SH: the redeem script is executed
    P2WPKH = "p2wpkh"
    P2SH_P2WPKH = "p2sh-p2wpkh"
    P2WSH = "p2wsh"
    P2SH_P2WSH = "p2sh-p2wsh"
    P2TR = "p2tr"
    UNKNOWN = "unknown"  # the spent output is unknown, or of no kind this module signs for


class UtxoSource(StrEnum):
    NON_WITNESS_UTXO = "non_witness_utxo"  # the previous transaction, hashed to the outpoint's txid
    WITNESS_UTXO = "witness_utxo"  # the output as the PSBT states it, unproven


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """One signature: ``in_script`` says whether its key can satisfy the input's script (or leaf).

    ``reason`` is the problem that decided an INVALID or UNVERIFIABLE verdict (None when VALID); ``problems`` lists
    every problem found, including those that do not change the verdict (HIGH_S, SIGHASH_TYPE_MISMATCH, …).
    """

    pubkey: bytes
    signature: bytes
    scheme: Literal["ecdsa", "schnorr"]
    sighash_type: int | None  # None when the signature is too short to carry one
    verdict: SignatureVerdict
    reason: SignatureProblem | None
    problems: tuple[SignatureProblem, ...]
    in_script: bool
    low_s: bool | None = None  # ECDSA only
    leaf_hash: bytes | None = None  # taproot script path only

    def to_json(self) -> dict[str, object]:
        return {
            "pubkey": self.pubkey.hex(),
            "signature": self.signature.hex(),
            "scheme": self.scheme,
            "sighash_type": self.sighash_type,
            "verdict": self.verdict.value,
            "reason": self.reason.value if self.reason is not None else None,
            "problems": [problem.value for problem in self.problems],
            "in_script": self.in_script,
            "low_s": self.low_s,
            "leaf_hash": self.leaf_hash.hex() if self.leaf_hash is not None else None,
        }


@dataclass(frozen=True, slots=True)
class TapLeafCheck:
    """A TAP_LEAF_SCRIPT: whether its control block commits to the spent output key, and its signers."""

    leaf_hash: bytes
    script: bytes
    leaf_version: int
    committed: bool | None  # None when the spent output is unknown
    required: int | None  # None when the leaf is not a template whose keys are known
    keys: tuple[bytes, ...]
    valid: int  # distinct keys of ``keys`` with a VALID signature for this leaf


@dataclass(frozen=True, slots=True)
class InputSignatures:
    """Everything known about who signed input ``index``.

    ``required`` and ``keys`` are the quorum and signers of the script that is signed (for P2TR: of the key path;
    each script-path leaf is in ``tap_leaves``); ``valid`` counts distinct keys of ``keys`` with a VALID
    signature. ``non_witness_utxo_txid`` is the hash of the NON_WITNESS_UTXO as given (compare with the outpoint).
    """

    index: int
    kind: SpendKind
    finalized: bool  # it has a final scriptSig or witness (a finalizer drops the fields this module reads)
    script_type: ScriptKind | None
    spent_output: TxOut | None
    utxo_source: UtxoSource | None
    outpoint: tuple[bytes, int]
    non_witness_utxo_txid: bytes | None
    signing_script: bytes | None
    required: int | None
    keys: tuple[bytes, ...]
    signatures: tuple[SignatureCheck, ...]
    valid: int
    problems: tuple[InputProblem, ...]
    tap_leaves: tuple[TapLeafCheck, ...] = ()

    @property
    def invalid(self) -> tuple[SignatureCheck, ...]:
        """The signatures whose verdict is INVALID (UNVERIFIABLE ones are not: see ``problems``)."""
        return tuple(check for check in self.signatures if check.verdict is SignatureVerdict.INVALID)

"""The output an input spends (from the UTXO fields it can be trusted from) and how the input is signed: its
scheme, script code, quorum and the keys that may sign (script templates and tapscript leaves), and the
signatures of a scheme it is not signed with."""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256
from typing import Literal

from mamori.chains.bitcoin.psbt import PsbtInput
from mamori.chains.bitcoin.script import (
    ScriptKind,
    describe_script,
    hash160,
    p2pk_key,
    parse_multi_a,
    parse_multisig,
    pushed_data,
)
from mamori.chains.bitcoin.sighash import p2wpkh_script_code
from mamori.chains.bitcoin.signatures.model import (
    InputProblem,
    SignatureCheck,
    SignatureProblem,
    SignatureVerdict,
    SpendKind,
    UtxoSource,
)
from mamori.chains.bitcoin.transaction import TxOut, txid


@dataclass(frozen=True, slots=True)
class Spent:
    output: TxOut | None
    source: UtxoSource | None
    non_witness_utxo_txid: bytes | None
    problems: tuple[InputProblem, ...]


@dataclass(slots=True)
class Spend:
    """How an input is signed, worked out from its spent output and scripts."""

    kind: SpendKind = SpendKind.UNKNOWN
    scheme: Literal["legacy", "bip143", "taproot", "none"] = "none"
    script_code: bytes | None = None
    signing_script: bytes | None = None
    required: int | None = None
    keys: tuple[bytes, ...] = ()
    key_hash: bytes | None = None  # P2PKH and P2WPKH: a key is in the script when it hashes to this


def resolve_spent(fields: PsbtInput, outpoint: tuple[bytes, int]) -> Spent:
    problems: list[InputProblem] = []
    output: TxOut | None = None
    source: UtxoSource | None = None
    previous_txid: bytes | None = None
    previous = fields.non_witness_utxo
    if previous is not None:
        previous_txid = fields.non_witness_utxo_txid or txid(previous)
        if previous_txid != outpoint[0]:
            problems.append(InputProblem.NON_WITNESS_UTXO_TXID_MISMATCH)
        elif outpoint[1] >= len(previous.outputs):
            problems.append(InputProblem.NON_WITNESS_UTXO_OUTPUT_MISSING)
        else:
            output, source = previous.outputs[outpoint[1]], UtxoSource.NON_WITNESS_UTXO
    stated = fields.witness_utxo
    if stated is not None:
        if output is None:
            output, source = stated, UtxoSource.WITNESS_UTXO
        elif stated != output:
            problems.append(InputProblem.WITNESS_UTXO_MISMATCH)
    if previous is None and stated is None:
        problems.append(InputProblem.UTXO_MISSING)
    return Spent(output, source, previous_txid, tuple(problems))


def analyse(fields: PsbtInput, script_pubkey: bytes, script_type: ScriptKind, problems: list[InputProblem]) -> Spend:
    """Work out how the input is signed; scripts that do not hash to what they claim leave the spend unknown."""
    if script_type is ScriptKind.P2PKH:
        return Spend(SpendKind.P2PKH, "legacy", script_pubkey, script_pubkey, 1, (), script_pubkey[3:23])
    if script_type is ScriptKind.P2PK:
        return Spend(SpendKind.P2PK, "legacy", script_pubkey, script_pubkey, 1, (script_pubkey[1:-1],))
    multisig = parse_multisig(script_pubkey) if script_type is ScriptKind.MULTISIG else None
    if multisig is not None:
        return Spend(SpendKind.BARE_MULTISIG, "legacy", script_pubkey, script_pubkey, multisig.m, multisig.keys)
    if script_type is ScriptKind.P2WPKH:
        program = script_pubkey[2:]
        return Spend(SpendKind.P2WPKH, "bip143", p2wpkh_script_code(program), None, 1, (), program)
    if script_type is ScriptKind.P2WSH:
        return _witness_script_spend(fields, script_pubkey[2:], SpendKind.P2WSH, problems)
    if script_type is ScriptKind.P2TR:
        return Spend(SpendKind.P2TR, "taproot", None, None, 1, (script_pubkey[2:],))
    if script_type is not ScriptKind.P2SH:
        problems.append(InputProblem.SCRIPT_UNSUPPORTED)
        return Spend()
    redeem = fields.redeem_script
    if redeem is None:
        problems.append(InputProblem.REDEEM_SCRIPT_MISSING)
        return Spend(SpendKind.P2SH)
    if hash160(redeem) != script_pubkey[2:22]:
        problems.append(InputProblem.REDEEM_SCRIPT_MISMATCH)
        return Spend(SpendKind.P2SH)
    inner = describe_script(redeem).kind
    if inner is ScriptKind.P2WPKH:
        program = redeem[2:]
        return Spend(SpendKind.P2SH_P2WPKH, "bip143", p2wpkh_script_code(program), None, 1, (), program)
    if inner is ScriptKind.P2WSH:
        return _witness_script_spend(fields, redeem[2:], SpendKind.P2SH_P2WSH, problems)
    if inner in (ScriptKind.P2TR, ScriptKind.WITNESS_UNKNOWN):
        problems.append(InputProblem.SCRIPT_UNSUPPORTED)
        return Spend(SpendKind.P2SH)
    return _script_spend(SpendKind.P2SH, "legacy", redeem, problems)


def _witness_script_spend(fields: PsbtInput, program: bytes, kind: SpendKind, problems: list[InputProblem]) -> Spend:
    script = fields.witness_script
    if script is None:
        problems.append(InputProblem.WITNESS_SCRIPT_MISSING)
        return Spend(kind)
    if sha256(script).digest() != program:
        problems.append(InputProblem.WITNESS_SCRIPT_MISMATCH)
        return Spend(kind)
    return _script_spend(kind, "bip143", script, problems)


def _script_spend(
    kind: SpendKind, scheme: Literal["legacy", "bip143"], script: bytes, problems: list[InputProblem]
) -> Spend:
    multisig = parse_multisig(script)
    if multisig is not None:
        return Spend(kind, scheme, script, script, multisig.m, multisig.keys)
    key = p2pk_key(script)
    if key is not None:
        return Spend(kind, scheme, script, script, 1, (key,))
    if describe_script(script).kind is ScriptKind.P2PKH:
        return Spend(kind, scheme, script, script, 1, (), script[3:23])
    problems.append(InputProblem.SCRIPT_UNSUPPORTED)
    return Spend(kind, scheme, script, script)


def key_in_script(pubkey: bytes, spend: Spend) -> bool:
    if spend.key_hash is not None:
        return hash160(pubkey) == spend.key_hash
    return pubkey in spend.keys


def leaf_signers(script: bytes) -> tuple[int | None, tuple[bytes, ...]]:
    """Quorum and x-only keys of a tapscript leaf: ``multi_a``, ``<key> OP_CHECKSIG``, else unknown."""
    multi = parse_multi_a(script)
    if multi is not None:
        return multi.m, multi.keys
    if len(script) == 34 and script[0] == 32 and script[33] == 0xAC:
        return 1, (script[1:33],)
    keys = pushed_data(script) or ()
    return None, tuple(key for key in keys if len(key) == 32)


def not_checked(
    fields: PsbtInput, scheme: Literal["ecdsa", "schnorr"], reason: SignatureProblem
) -> tuple[SignatureCheck, ...]:
    """Signatures of the scheme the input does not use (WRONG_SCHEME), or of an input of unknown kind."""
    verdict = (
        SignatureVerdict.UNVERIFIABLE if reason is SignatureProblem.SIGHASH_UNAVAILABLE else SignatureVerdict.INVALID
    )
    found: list[tuple[bytes, bytes, bytes | None]]
    if scheme == "ecdsa":
        found = [(sig.pubkey, sig.signature, None) for sig in fields.partial_sigs]
    else:
        found = [(sig.pubkey, sig.signature, sig.leaf_hash) for sig in fields.tap_script_sigs]
        if fields.tap_key_sig is not None:
            found.insert(0, (b"", fields.tap_key_sig, None))  # the key path's key is the output key, unknown here
    return tuple(
        SignatureCheck(
            pubkey,
            signature,
            scheme,
            (signature[-1] if signature else None)
            if scheme == "ecdsa"
            else (signature[64] if len(signature) == 65 else 0),
            verdict,
            reason,
            (reason,),
            in_script=False,
            leaf_hash=leaf_hash,
        )
        for pubkey, signature, leaf_hash in found
    )

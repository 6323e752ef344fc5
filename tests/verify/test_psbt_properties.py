"""Property tests of the PSBT verifier as a signer runs it, with the wallet: damaged and hostile PSBTs made from the
wallet's own (tests/support/psbt_corpus.py) and the BIPs' vectors. Whatever parses is verified without any
exception but the project's, gives a report that serializes, and is never cleared for signing unless the change
and every input still prove themselves against the wallet."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.chains.bitcoin.descriptor import parse_descriptor
from mamori.chains.bitcoin.psbt import Bip32Derivation, KeyOrigin, Psbt, parse_psbt
from mamori.errors import MamoriError
from mamori.verify.psbt import verify_psbt
from support.mutations import mutations
from support.psbt_corpus import cosigners, descriptor, psbts

WALLET = parse_descriptor(descriptor(cosigners()), name="cold-1")
BIP174 = json.loads((Path(__file__).parents[3] / "shared" / "data" / "psbt" / "bip174_vectors.json").read_text())
SEEDS = [*psbts(6), *(base64.b64decode(vector["base64"]) for vector in BIP174["valid"])]
GENUINE = set(SEEDS)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations(SEEDS))
def test_a_damaged_psbt_is_refused_or_verified_and_never_cleared_unproven(data: bytes) -> None:
    try:
        report = verify_psbt(data, wallets=(WALLET,))
    except MamoriError:
        return  # refused as malformed (exit 2)
    orjson.dumps(report.to_json())  # the report a CLI or the guard emits
    if data in GENUINE or report.blocks_signing:
        return
    # Cleared for signing: every input is the wallet's and every output is change or a listed payment.
    assert all(item.wallet == "cold-1" for item in report.inputs)
    assert all(out.role in ("change", "external") for out in report.outputs)
    assert report.fee is not None and report.fee >= 0


# --- what an attacker in transit would change: one field of meaning at a time ---------------------------------------

PARSED = [parse_psbt(data) for data in psbts(6)]
STRANGER = bytes.fromhex("0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600")  # BIP-380's key
ATTACKER_SCRIPT = bytes.fromhex("0014751e76e8199196d454941c45d1b3a323f1433bd6")  # BIP-173's P2WPKH example
EDITS = [
    "input_path",
    "input_fingerprint",
    "input_pubkey",
    "input_stranger",
    "input_amount",
    "input_full_tx_dropped",
    "input_witness_script",
    "output_path",
    "output_fingerprint",
    "output_script",
    "output_amount",
    "sighash",
]


def _derivation(item: Bip32Derivation, kind: str, value: int) -> Bip32Derivation:
    origin = item.origin
    if kind == "path":
        return item._replace(origin=origin._replace(path=(*origin.path[:-1], value % 2**31)))
    if kind == "fingerprint":
        return item._replace(origin=origin._replace(fingerprint=(value % 2**32).to_bytes(4, "big")))
    return item._replace(pubkey=STRANGER)


def _edit(psbt: Psbt, edit: str, at: int, value: int) -> Psbt:
    tx = psbt.unsigned_tx
    assert tx is not None
    where, _, what = edit.partition("_")
    if where == "sighash":
        index = at % len(psbt.inputs)
        changed = psbt.inputs[index]._replace(sighash_type=(0x01, 0x02, 0x03, 0x81, 0x82, 0x83)[value % 6])
        return psbt._replace(inputs=(*psbt.inputs[:index], changed, *psbt.inputs[index + 1 :]))
    if where == "input":
        index = at % len(psbt.inputs)
        fields = psbt.inputs[index]
        if what in ("path", "fingerprint", "pubkey"):
            derivations = list(fields.bip32_derivations)
            chosen = value % len(derivations)
            derivations[chosen] = _derivation(derivations[chosen], what, value)
            fields = fields._replace(bip32_derivations=tuple(derivations))
        elif what == "stranger":
            extra = Bip32Derivation(
                STRANGER, KeyOrigin(b"\xde\xad\xbe\xef", (84 | 2**31, 2**31, 2**31, 0, value % 2**31))
            )
            fields = fields._replace(bip32_derivations=(*fields.bip32_derivations, extra))
        elif what == "amount" and fields.witness_utxo is not None:
            fields = fields._replace(witness_utxo=fields.witness_utxo._replace(amount=value))
        elif what == "full":
            fields = fields._replace(non_witness_utxo=None, non_witness_utxo_txid=None)
        elif what == "witness" and fields.witness_script is not None:
            fields = fields._replace(witness_script=fields.witness_script[:-1] + bytes([value % 256]))
        return psbt._replace(inputs=(*psbt.inputs[:index], fields, *psbt.inputs[index + 1 :]))
    index = at % len(psbt.outputs)
    fields = psbt.outputs[index]
    out = tx.outputs[index]
    if what in ("path", "fingerprint") and fields.bip32_derivations:
        derivations = list(fields.bip32_derivations)
        chosen = value % len(derivations)
        derivations[chosen] = _derivation(derivations[chosen], what, value)
        fields = fields._replace(bip32_derivations=tuple(derivations))
    elif what == "script":
        out = out._replace(script_pubkey=ATTACKER_SCRIPT)
    elif what == "amount":
        out = out._replace(amount=value)
    outputs = (*tx.outputs[:index], out, *tx.outputs[index + 1 :])
    return psbt._replace(
        unsigned_tx=tx._replace(outputs=outputs),
        outputs=(*psbt.outputs[:index], fields, *psbt.outputs[index + 1 :]),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, len(PARSED) - 1),
    edits=st.lists(st.tuples(st.sampled_from(EDITS), st.integers(0, 5), st.integers(0, 2**40)), min_size=1, max_size=3),
)
def test_what_an_attacker_changes_is_blocked_or_still_proven(seed: int, edits: list[tuple[str, int, int]]) -> None:
    """After any edits of meaning, a PSBT the verifier clears must still prove every input and every change output
    against the wallet, verify a quorum of signatures on every input, and pay a fee within the limits."""
    psbt = PARSED[seed]
    for edit, at, value in edits:
        psbt = _edit(psbt, edit, at, value)
    report = verify_psbt(psbt, wallets=(WALLET,))
    orjson.dumps(report.to_json())
    if report.blocks_signing:
        return
    assert all(item.wallet == "cold-1" for item in report.inputs), report.findings
    assert all(item.required is not None and item.valid >= item.required for item in report.inputs)
    assert all(out.role in ("change", "external") for out in report.outputs)
    assert report.fee is not None and 0 <= report.fee <= 1_000_000
    for out, fields in zip(report.outputs, psbt.outputs, strict=True):
        if fields.bip32_derivations:  # it claims to be ours: then it is, or the verifier has blocked
            assert out.role == "change", report.findings

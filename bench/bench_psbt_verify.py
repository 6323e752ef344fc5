"""Benchmark: mamori's full verification of PSBTs against embit's parse of the same PSBTs.

Prints rates and the ratio against the named peer measured in the same run (these machines are shared and noisy:
ratios are what count; the two are interleaved in slices so that a burst of load falls on both). Results are
recorded in docs/benchmarks.md.

    .venv/bin/python bench/bench_psbt_verify.py [--count 10000] [--slice 500]

The corpus (tests/support/psbt_corpus.py, built with embit): PSBTs of a 2-of-3 P2WSH multisig wallet spending one to
three inputs (full previous transactions, witness UTXOs, witness scripts, derivations), paying one or two external
addresses and change, signed by two of the three keys.
  peer    embit 0.8.0: PSBT.parse(bytes) — parsing only (its secp256k1 is the prebuilt libsecp256k1 via ctypes)
  mamori  verify_psbt(bytes, wallets=[the descriptor]): parse, previous transactions hashed against their txids,
          every signature verified against its sighash, every output's address, change and every input proven
          by derivation from the descriptor, fee and fee rate, locktime, consensus checks, findings and verdict
  embit+  for scale, embit doing the signature part of the work as well: parse, then each partial signature's
          BIP-143 sighash and its verification (embit's libsecp256k1 through ctypes); nothing else of ours
  floor   libsecp256k1 alone (coincurve): parsing each signer's public key and verifying each of the PSBT's
          signatures over its precomputed sighash; no verifier can spend less, so this line says how much of the
          peer's time the cryptography leaves for everything else
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from coincurve import PublicKey
from embit import ec
from embit.psbt import PSBT

from mamori.chains.bitcoin.descriptor import parse_descriptor
from mamori.chains.bitcoin.psbt import parse_psbt, unsigned_transaction
from mamori.chains.bitcoin.sighash import segwit_v0_sighash
from mamori.verify.psbt import verify_psbt
from support.psbt_corpus import cosigners, descriptor, psbts


def signature_work(data: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """(public key, DER signature, BIP-143 sighash) of every partial signature: the cryptography alone."""
    psbt = parse_psbt(data)
    tx = unsigned_transaction(psbt)
    work = []
    for index, fields in enumerate(psbt.inputs):
        if fields.witness_utxo is None or fields.witness_script is None:
            raise SystemExit(f"input {index} of a corpus PSBT lacks its witness UTXO or script")
        for sig in fields.partial_sigs:
            digest = segwit_v0_sighash(tx, index, fields.witness_script, fields.witness_utxo.amount, sig.signature[-1])
            work.append((sig.pubkey, sig.signature[:-1], digest))
    return work


def embit_signatures(data: bytes) -> bool:
    """embit's parse, sighashes and signature verifications: the like-for-like part of what we do."""
    psbt = PSBT.parse(data)
    valid = True
    for index, fields in enumerate(psbt.inputs):
        for pubkey, signature in fields.partial_sigs.items():
            digest = psbt.tx.sighash_segwit(index, fields.witness_script, fields.witness_utxo.value, signature[-1])
            valid &= pubkey.verify(ec.Signature.parse(signature[:-1]), digest)
    return valid


def crypto_floor(work: list[tuple[bytes, bytes, bytes]]) -> bool:
    return all(PublicKey(key).verify(der, digest, hasher=None) for key, der, digest in work)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--slice", type=int, default=500)
    args = parser.parse_args()
    started = time.perf_counter()
    corpus = list(psbts(args.count))
    print(f"corpus: {len(corpus):,} PSBTs built with embit in {time.perf_counter() - started:.1f} s "
          f"({sum(map(len, corpus)) / len(corpus):,.0f} bytes each on average)")  # fmt: skip
    wallet = parse_descriptor(descriptor(cosigners()))
    works = [signature_work(data) for data in corpus]
    signatures = sum(map(len, works))
    # Both once before timing: imports, caches of the wallet's derivations, the ctypes library.
    for data in corpus[:50]:
        PSBT.parse(data)
        verify_psbt(data, wallets=(wallet,))
    peer = ours = floor = signing = 0.0
    blocked = 0
    gc.disable()
    try:
        for start in range(0, len(corpus), args.slice):
            part = corpus[start : start + args.slice]
            t0 = time.perf_counter()
            for data in part:
                PSBT.parse(data)
            t1 = time.perf_counter()
            for data in part:
                report = verify_psbt(data, wallets=(wallet,))
                blocked += report.blocks_signing
            t2 = time.perf_counter()
            for work in works[start : start + args.slice]:
                if not crypto_floor(work):
                    raise SystemExit("a signature of the corpus does not verify")
            t3 = time.perf_counter()
            for data in part:
                if not embit_signatures(data):
                    raise SystemExit("embit finds a signature of the corpus invalid")
            t4 = time.perf_counter()
            signing += t4 - t3
            peer += t1 - t0
            ours += t2 - t1
            floor += t3 - t2
            gc.collect()
    finally:
        gc.enable()
    count = len(corpus)
    print(f"embit 0.8.0 PSBT.parse            {count / peer:10,.0f} PSBTs/s  {peer / count * 1e6:8.1f} µs each")
    print(f"mamori verify_psbt (full checks)  {count / ours:10,.0f} PSBTs/s  {ours / count * 1e6:8.1f} µs each")
    print(f"ratio mamori / embit (rate)        {peer / ours:10.2f}×   (goal ≥ 1.00)")
    print(f"embit parse + sighashes + verify  {count / signing:10,.0f} PSBTs/s  {signing / count * 1e6:8.1f} µs each "
          f"(mamori's rate {signing / ours:.2f}× this)")  # fmt: skip
    print(f"floor: libsecp256k1 alone          {count / floor:10,.0f} PSBTs/s  {floor / count * 1e6:8.1f} µs each "
          f"({signatures / count:.1f} signatures per PSBT: {floor / peer:.0%} of the peer's time, "
          f"{floor / ours:.0%} of ours)")  # fmt: skip
    print(f"mamori without the floor           {(ours - floor) / count * 1e6:29.1f} µs each "
          f"({peer / (ours - floor):.2f}× the peer's rate)")  # fmt: skip
    print(f"verdicts: {count - blocked:,} may be signed, {blocked:,} blocked (expected: all may be signed)")


if __name__ == "__main__":
    main()

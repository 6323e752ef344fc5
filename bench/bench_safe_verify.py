"""Benchmark: verifying Safe transactions with mamori vs safe-eth-py's SafeTx(...).safe_tx_hash.

Prints rates and the ratio against the named peer measured in the same run (these machines are shared and
noisy: ratios are what count). Results are recorded in docs/benchmarks.md.

    .venv/bin/python bench/bench_safe_verify.py [--count 10000] [--repeat 3]

Measured, on the same 10,000 deterministic Safe Transaction Service records (bench/corpus.py):
  peer      safe-eth-py: SafeTx(...) built from the parsed record, then .safe_tx_hash
  core      mamori: verify_safe_tx on the parsed record: hashes + decoded call tree + findings + verdict
  batch     mamori: the --batch engine in process: JSON line in -> parse -> verify -> JSON line out
  cli       mamori verify safe-tx --batch FILE as a subprocess, start-up included
and the library choices: keccak-256 (safe-pysha3, pycryptodome, eth-hash auto), secp256k1 recovery
(coincurve, eth-keys), ABI decoding (mamori.chains.evm.abi, eth-abi).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import safe_records, signed_records
from mamori.chains.evm.encoding import to_checksum_address
from mamori.chains.evm.safe.hashes import domain_separator
from mamori.chains.evm.safe.record import parse_safe_tx_record
from mamori.cli.batch import process_lines
from mamori.verify.context import SafeBook, resolve_context
from mamori.verify.registry import default_registry
from mamori.verify.safe import verify_safe_record, verify_safe_tx


def best_of(repeat: int, run: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeat):
        # Cold caches each time: a real batch meets each address once, so no repeat may reuse another's work.
        to_checksum_address.cache_clear()
        domain_separator.cache_clear()
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return min(timings)


def line(name: str, count: int, seconds: float, peer_rate: float | None = None) -> float:
    rate = count / seconds
    ratio = f"  {rate / peer_rate:5.1f}x peer" if peer_rate else ""
    print(f"  {name:<58} {rate:>11,.0f} /s  {seconds / count * 1e6:8.2f} us{ratio}")
    return rate


def peer_safe_tx(r: dict[str, Any], version: str, signatures: bytes | None = None) -> Any:
    """safe-eth-py's SafeTx for a Safe Transaction Service record (the peer of every Safe benchmark)."""
    from safe_eth.safe.safe_tx import SafeTx

    data = bytes.fromhex((r["data"] or "0x")[2:])
    return SafeTx(
        None, r["safe"], r["to"], int(r["value"]), data, r["operation"], r["safeTxGas"], r["baseGas"],
        int(r["gasPrice"]), r["gasToken"], r["refundReceiver"], signatures=signatures, safe_nonce=r["nonce"],
        safe_version=version, chain_id=1,
    )  # fmt: skip


def bench_safe(count: int, repeat: int) -> None:
    records, safes_document = safe_records(count)
    book = SafeBook.from_document(safes_document)
    lines = [orjson.dumps(r) for r in records]
    registry = default_registry()
    parsed = [parse_safe_tx_record(r) for r in records]
    contexts = [resolve_context(p.tx.safe, 1, None, book) for p in parsed]
    versions = {entry["address"]: entry["version"] for entry in safes_document["safes"]}

    def peer() -> None:
        for r in records:
            _ = peer_safe_tx(r, versions[r["safe"]]).safe_tx_hash

    def core() -> None:
        for record, context in zip(parsed, contexts, strict=True):
            verify_safe_tx(record, context, registry)

    def verify_line(raw: bytes) -> dict[str, object]:
        report = verify_safe_record(orjson.loads(raw), chain_id=1, safe_version=None, book=book, registry=registry)
        return report.to_json()

    def batch() -> None:
        process_lines(lines, verify_line, io.BytesIO())

    # Same answers first: a benchmark of wrong results is worthless.
    for record, context, raw in zip(parsed[:200], contexts, records, strict=False):
        ours = verify_safe_tx(record, context, registry).hashes.safe_tx_hash
        assert ours.hex() == raw["safeTxHash"][2:], "mamori and the corpus disagree"  # noqa: S101

    _ = peer_safe_tx(records[0], versions[records[0]["safe"]]).safe_tx_hash  # warm-up: lazy imports, caches
    print(f"Safe transactions: {count:,} records, best of {repeat}")
    peer_rate = line("peer: safe-eth-py SafeTx(...).safe_tx_hash", count, best_of(repeat, peer))
    line("mamori core: hashes + decode + findings (verify_safe_tx)", count, best_of(repeat, core), peer_rate)
    line("mamori --batch engine: JSON in, verify, JSON out", count, best_of(repeat, batch), peer_rate)

    mamori = Path(sys.executable).with_name("mamori")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "batch.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")

        def cli() -> None:
            subprocess.run(
                [str(mamori), "verify", "safe-tx", "--batch", str(path)],
                stdout=subprocess.DEVNULL,
                check=False,
            )

        line(
            "mamori verify safe-tx --batch (subprocess, start-up included)",
            count,
            best_of(repeat, cli),
            peer_rate,
        )


def bench_signed(count: int, repeat: int) -> None:
    """Signed proposals: every signature recovered and checked against the owners (2 per transaction)."""
    records, safes_document = signed_records(count)
    book = SafeBook.from_document(safes_document)
    registry = default_registry()
    parsed = [parse_safe_tx_record(r) for r in records]
    contexts = [resolve_context(p.tx.safe, 1, None, book) for p in parsed]
    versions = {entry["address"]: entry["version"] for entry in safes_document["safes"]}

    def peer() -> None:
        for r in records:
            _ = peer_safe_tx(r, versions[r["safe"]], signatures=bytes.fromhex(r["signatures"][2:])).signers

    def core() -> None:
        for record, context in zip(parsed, contexts, strict=True):
            verify_safe_tx(record, context, registry)

    report = verify_safe_tx(parsed[0], contexts[0], registry)
    assert report.findings == () and all(c.valid for c in report.signatures), "corpus signatures must verify"  # noqa: S101
    print(f"\nSigned Safe transactions: {count:,} records, 2 signatures each (+2 confirmations), best of {repeat}")
    peer_rate = line("peer: safe-eth-py SafeTx(..., signatures).signers", count, best_of(repeat, peer))
    line("mamori core: hashes + decode + 4 checks (2 recoveries) + findings", count, best_of(repeat, core), peer_rate)


def bench_libraries(repeat: int) -> None:
    import coincurve
    import eth_abi
    from Crypto.Hash import keccak as pycryptodome_keccak
    from eth_hash.auto import keccak as eth_hash_keccak
    from eth_keys import keys
    from sha3 import keccak_256

    from mamori.chains.evm.abi import decode_args
    from mamori.chains.evm.crypto import recover_address

    n = 20_000
    message = os.urandom(352)  # the size of an encoded SafeTx struct
    print(f"\nkeccak-256 of 352 bytes, {n:,} calls")
    peer = line("eth-hash (auto backend)", n, best_of(repeat, lambda: [eth_hash_keccak(message) for _ in range(n)]))
    line(
        "pycryptodome",
        n,
        best_of(
            repeat,
            lambda: [pycryptodome_keccak.new(data=message, digest_bits=256).digest() for _ in range(n)],
        ),
        peer,
    )
    line(
        "safe-pysha3 (chosen)",
        n,
        best_of(repeat, lambda: [keccak_256(message).digest() for _ in range(n)]),
        peer,
    )

    n = 5_000
    key = coincurve.PrivateKey()
    digest = os.urandom(32)
    signature = key.sign_recoverable(digest, hasher=None)
    r, s, v = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
    eth_signature = keys.Signature(signature)
    print(f"\nsecp256k1 public-key recovery to an address, {n:,} calls")
    peer = line(
        "eth-keys",
        n,
        best_of(
            repeat,
            lambda: [eth_signature.recover_public_key_from_msg_hash(digest).to_canonical_address() for _ in range(n)],
        ),
    )
    line(
        "coincurve via mamori.chains.evm.crypto (chosen)",
        n,
        best_of(repeat, lambda: [recover_address(digest, v, r, s) for _ in range(n)]),
        peer,
    )

    n = 20_000
    call = bytes(12) + os.urandom(20) + (10**20).to_bytes(32, "big")
    print(f"\nABI decode of transfer(address,uint256) arguments, {n:,} calls")
    peer = line(
        "eth-abi decode",
        n,
        best_of(repeat, lambda: [eth_abi.decode(["address", "uint256"], call) for _ in range(n)]),
    )
    line(
        "mamori.chains.evm.abi (chosen)",
        n,
        best_of(repeat, lambda: [decode_args("transfer", ("address", "uint256"), call) for _ in range(n)]),
        peer,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    bench_safe(arguments.count, arguments.repeat)
    bench_signed(arguments.count // 5, arguments.repeat)
    bench_libraries(arguments.repeat)


if __name__ == "__main__":
    main()

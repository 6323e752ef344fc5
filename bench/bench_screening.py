"""Benchmark: the screening index at 10 million addresses vs a Python dict of normalised strings.

    .venv/bin/python bench/bench_screening.py [--count 10000000] [--lookups 100000] [--no-peer]

Input: ``--count`` deterministic synthetic addresses (seed 2026), a realistic mix of families: 45 % EVM (half
EIP-55 checksummed, half lower case), 20 % Bitcoin base58check (P2PKH/P2SH), 10 % TRON, 12 % bech32 (P2WPKH and
P2TR), 8 % Solana, 3 % cashaddr, 1 % XRP, 1 % unrecognised text. Each is a valid address of its family.

Measured, in one run:
  mamori   ScreeningIndexBuilder.add_many + build: normalise, BLAKE2b-64 key, pack, sort
  saved    ScreeningIndex.save, then load (memory-mapped) with and without the SHA-256 check
  peer     dict {normalised string: list id}, the obvious pure-Python index, built with the same normaliser
Memory: RSS delta (Linux /proc/self/statm) across each build, after gc, with the input list already allocated;
and, for mamori, the exact bytes its arrays hold (``ScreeningIndex.nbytes``). Lookups: single calls, each timed
with perf_counter_ns; half the queries are listed addresses (EVM ones re-cased), half are fresh addresses.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from mamori.chains.addresses import classify
from mamori.chains.evm.encoding import to_checksum_address
from mamori.intel.lists import ListSource
from mamori.intel.screening import ScreeningIndex, ScreeningIndexBuilder

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
B58_PAIRS = [a + b for a in B58 for b in B58]  # two digits per divmod: half the Python-level steps
RIPPLE = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
B32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
CASH_GEN = (0x98F2BC8E61, 0x79B76D99E2, 0xF33E5FB3C4, 0xAE2EABE2A8, 0x1E4F43E470)


def b58encode(raw: bytes, alphabet: str = B58) -> str:
    number = int.from_bytes(raw, "big")
    out = []
    if alphabet is B58:
        while number >= 58:
            number, pair = divmod(number, 3364)
            out.append(B58_PAIRS[pair])
        text = ("" if number == 0 else B58[number]) + "".join(reversed(out))
        text = text.lstrip("1")
    else:
        while number:
            number, digit = divmod(number, 58)
            out.append(alphabet[digit])
        text = "".join(reversed(out))
    zeros = len(raw) - len(raw.lstrip(b"\0"))
    return alphabet[0] * zeros + text


def base58check(payload: bytes, alphabet: str = B58) -> str:
    return b58encode(payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4], alphabet)


def _top_table(generator: tuple[int, ...]) -> list[int]:
    """xor of the generator terms selected by the 5 bits shifted out at each step (one look-up, not five ifs)."""
    table = []
    for top in range(32):
        value = 0
        for i in range(5):
            if (top >> i) & 1:
                value ^= generator[i]
        table.append(value)
    return table


BECH32_TOP, CASH_TOP = _top_table(BECH32_GEN), _top_table(CASH_GEN)


def _polymod(values: list[int], table: list[int], top: int, mask: int) -> int:
    chk = 1
    for value in values:
        chk = ((chk & mask) << 5) ^ value ^ table[chk >> top]
    return chk


B32_TABLE = bytes(ord(B32[i & 31]) for i in range(256))  # 5-bit values (any byte, masked) -> characters


def segwit(hrp: str, version: int, symbols: bytes) -> str:
    """A segwit address from random 5-bit symbols (the program's bits, regrouped by 5, drawn directly)."""
    data = bytes([version]) + bytes(b & 31 for b in symbols)
    const = 1 if version == 0 else 0x2BC830A3
    expanded = bytes([ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp])
    residue = _polymod(expanded + data + bytes(6), BECH32_TOP, 25, 0x1FFFFFF) ^ const
    checksum = bytes((residue >> 5 * (5 - i)) & 31 for i in range(6))
    return hrp + "1" + (data + checksum).translate(B32_TABLE).decode()


def cashaddr(symbols: bytes) -> str:
    """A P2PKH cashaddr (version byte 0, 160-bit hash) from 34 random 5-bit symbols."""
    data = bytearray(b & 31 for b in symbols)
    data[0], data[1], data[33] = 0, data[1] & 3, data[33] & 28  # version byte 0; zero padding bits
    residue = _polymod(CASH_PREFIX + bytes(data) + bytes(8), CASH_TOP, 35, 0x07FFFFFFFF) ^ 1
    checksum = bytes((residue >> 5 * (7 - i)) & 31 for i in range(8))
    return (bytes(data) + checksum).translate(B32_TABLE).decode()


CASH_PREFIX = bytes([ord(c) & 31 for c in "bitcoincash"] + [0])


def _taproot_symbols(raw: bytes) -> bytes:
    """52 symbols = 260 bits for a 32-byte program: the last 4 bits are padding and must be zero."""
    return raw[:51] + bytes([raw[51] & 16])


def synthetic(count: int, seed: int) -> list[str]:
    """``count`` valid addresses in the mix above; the same list for the same seed."""
    rng = random.Random(seed)
    draw = rng.randbytes
    out: list[str] = []
    append = out.append
    for _ in range(count):
        roll = rng.random()
        if roll < 0.225:
            append(to_checksum_address.__wrapped__(draw(20)))
        elif roll < 0.45:
            append("0x" + draw(20).hex())
        elif roll < 0.65:
            append(base58check(bytes([0 if roll < 0.6 else 5]) + draw(20)))
        elif roll < 0.75:
            append(base58check(b"\x41" + draw(20)))
        elif roll < 0.87:
            append(segwit("bc", 0, draw(32)) if roll < 0.84 else segwit("bc", 1, _taproot_symbols(draw(52))))
        elif roll < 0.95:
            append(b58encode(draw(32)))
        elif roll < 0.98:
            append(cashaddr(draw(34)))
        elif roll < 0.99:
            append(base58check(b"\0" + draw(20), RIPPLE))
        else:
            append("memo-" + draw(12).hex())
    return out


def rss() -> int:
    gc.collect()
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def percentile(sorted_ns: list[int], fraction: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(len(sorted_ns) * fraction))] / 1000


def time_lookups(lookup: Callable[[str], object], queries: list[str]) -> dict[str, float]:
    timings = []
    clock = time.perf_counter_ns
    found = 0
    start = time.perf_counter()
    for query in queries:
        begin = clock()
        answer = lookup(query)
        timings.append(clock() - begin)
        found += answer is not None and answer != ()
    elapsed = time.perf_counter() - start
    timings.sort()
    return {
        "p50": percentile(timings, 0.50),
        "p99": percentile(timings, 0.99),
        "rate": len(queries) / elapsed,
        "found": found,
    }


def show_lookups(name: str, figures: dict[str, float], listed: int) -> None:
    print(
        f"  {name:<34} p50 {figures['p50']:6.2f} us  p99 {figures['p99']:7.2f} us  {figures['rate']:>9,.0f} lookups/s"
        f"  (found {figures['found']:,.0f} of {listed:,} listed)"
    )


def workload(count: int, lookups: int) -> tuple[list[str], list[str], int]:
    """The addresses to index and the queries: half listed (EVM ones re-cased half the time), half fresh."""
    addresses = synthetic(count, seed=2026)
    rng = random.Random(7)
    listed = [rng.choice(addresses) for _ in range(lookups // 2)]
    listed = [a.upper().replace("0X", "0x") if a.startswith("0x") and rng.random() < 0.5 else a for a in listed]
    queries = listed + synthetic(lookups - len(listed), seed=99)
    rng.shuffle(queries)
    return addresses, queries, len(listed)


def peer_worker(count: int, lookups: int, channel: Connection) -> None:
    """The peer, in its own process on the other core: its memory is measured alone, its build runs alongside
    mamori's, and its lookups run only when mamori's are done (the parent says when)."""
    addresses, queries, _ = workload(count, lookups)
    before = rss()
    started = time.perf_counter()
    peer: dict[str, int] = {}
    for address in addresses:
        family, canonical, _, _ = classify(address.strip(), check_case=False)
        peer[f"{family.value}:{canonical}"] = 1  # the list's id: the least provenance a hit needs
    build = time.perf_counter() - started
    memory = rss() - before
    channel.send({"build": build, "memory": memory})

    def peer_lookup(query: str) -> object:
        family, canonical, _, _ = classify(query.strip(), check_case=False)
        return peer.get(f"{family.value}:{canonical}")

    channel.recv()
    channel.send(time_lookups(peer_lookup, queries))


def build_ours(addresses: list[str]) -> tuple[ScreeningIndex, float, int]:
    count = len(addresses)
    before = rss()
    started = time.perf_counter()
    builder = ScreeningIndexBuilder()
    builder.add_many(ListSource("synthetic", "bench", "0" * 64), addresses)
    added = time.perf_counter()
    index = builder.build()
    built = time.perf_counter()
    del builder
    memory = rss() - before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("mamori ScreeningIndex")
    print(
        f"  build {built - started:6.1f} s  (normalise, key, pack {added - started:.1f} s; sort {built - added:.1f} s)"
    )
    print(
        f"  memory {memory / count:6.1f} bytes/address RSS delta, {index.nbytes / count:.1f} bytes/address in its "
        f"arrays; process peak RSS {peak / 2**30:.2f} GiB"
    )
    return index, built - started, memory


def measure_ours(index: ScreeningIndex, queries: list[str], listed: int) -> dict[str, float]:
    """Save and load times, then lookups on the built and on the memory-mapped index."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "screen.idx"
        started = time.perf_counter()
        index.save(path)
        saved = time.perf_counter() - started
        started = time.perf_counter()
        loaded = ScreeningIndex.load(path)
        verified = time.perf_counter() - started
        started = time.perf_counter()
        ScreeningIndex.load(path, verify=False)
        mapped = time.perf_counter() - started
        print(
            f"  saved {path.stat().st_size / 2**20:,.0f} MiB in {saved:.1f} s; load {verified:.2f} s with its SHA-256 "
            f"check, {mapped * 1000:.1f} ms memory-mapped without"
        )
        ours = time_lookups(index.lookup, queries)
        show_lookups("lookup (built in memory)", ours, listed)
        show_lookups("lookup (loaded, memory-mapped)", time_lookups(loaded.lookup, queries), listed)
        show_lookups("screen (notes and report object)", time_lookups(lambda q: index.screen(q).hits, queries), listed)
        del loaded
    return ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000_000)
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--no-peer", action="store_true", help="skip the dict peer")
    args = parser.parse_args()
    count = args.count
    print(f"screening index benchmark: {count:,} addresses, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    channel: Connection | None = None
    if not args.no_peer:
        channel, child_end = multiprocessing.get_context("fork").Pipe()
        worker = multiprocessing.get_context("fork").Process(target=peer_worker, args=(count, args.lookups, child_end))
        worker.start()

    started = time.perf_counter()
    addresses, queries, listed = workload(count, args.lookups)
    print(f"  synthetic input generated in {time.perf_counter() - started:.1f} s (in each process; not a figure)")

    index, ours_build, ours_rss = build_ours(addresses)
    ours = measure_ours(index, queries, listed)
    if channel is None:
        return
    peer_build = channel.recv()
    channel.send("go")
    peer = channel.recv()
    worker.join()
    print("peer: dict {normalised string: list id}, same normaliser, in a second process")
    print(f"  build {peer_build['build']:6.1f} s   memory {peer_build['memory'] / count:6.1f} bytes/address RSS delta")
    show_lookups("lookup", peer, listed)
    print(
        f"ratio: memory {peer_build['memory'] / ours_rss:.2f}x less than the peer; lookup p50 "
        f"{ours['p50'] / peer['p50']:.2f}x the peer's; build time {ours_build / peer_build['build']:.2f}x the peer's"
    )


if __name__ == "__main__":
    main()

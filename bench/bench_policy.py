"""Benchmark: policy decisions per second and p50/p99 latency in process, with 1,000 rules and limits loaded
and a screening index of 1,000,000 addresses consulted for every decision.

    .venv/bin/python bench/bench_policy.py [--decisions 20000] [--screening 1000000]

Peer, measured in the same run: the same evaluator without its candidate index, scanning every rule and limit
for every decision (what a straightforward rule engine does). Goal of issue 3: p99 <= 200 us per decision.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mamori.intel.lists import ListSource
from mamori.intel.screening import ScreeningIndexBuilder
from mamori.policy.evaluate import evaluate
from mamori.policy.facts import ScreeningHit
from mamori.policy.parse import load_policy
from policy_corpus import NOW, large_policy, requests_and_facts


def build_screening(count: int, listed: list[str]) -> Callable[[str], tuple[ScreeningHit, ...]]:
    """mamori's screening index holding ``count`` addresses, ``listed`` among them."""
    rng = random.Random(5)
    addresses = ["0x" + rng.randbytes(20).hex() for _ in range(count - len(listed))] + listed
    builder = ScreeningIndexBuilder()
    builder.add_many(ListSource("bench-list", "1", "0" * 64), addresses)
    index = builder.build()

    def lookup(address: str) -> tuple[ScreeningHit, ...]:
        return tuple(ScreeningHit(h.list_name, h.list_version, h.listed_as) for h in index.lookup(address))

    return lookup


def measure(label: str, decide: Callable[[], object], count: int) -> tuple[float, float, float]:
    timings = []
    clock = time.perf_counter_ns
    for _ in range(count):
        start = clock()
        decide()
        timings.append(clock() - start)
    timings.sort()
    p50 = timings[len(timings) // 2] / 1000
    p99 = timings[int(len(timings) * 0.99)] / 1000
    rate = 1e9 / statistics.fmean(timings)
    print(f"  {label:<52} {rate:>9,.0f} /s   p50 {p50:7.1f} us   p99 {p99:7.1f} us")
    return rate, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--screening", type=int, default=1_000_000)
    arguments = parser.parse_args()
    document, named = large_policy()
    started = time.perf_counter()
    policy = load_policy(document)
    print(
        f"policy: {len(policy.rules)} rules + {len(policy.limits)} limits = "
        f"{len(policy.rules) + len(policy.limits)}, loaded in {time.perf_counter() - started:.2f} s"
    )
    listed = named[:100]
    started = time.perf_counter()
    lookup = build_screening(arguments.screening, listed)
    print(f"screening: {arguments.screening:,} addresses ready in {time.perf_counter() - started:.1f} s")
    cases = requests_and_facts(document, named, arguments.decisions)
    naive = replace(policy, candidates={})

    def decider(chosen_policy: object) -> Callable[[], object]:
        iterator = iter(cases * 2)

        def decide() -> object:
            request, facts = next(iterator)
            hits = lookup(request.destination)
            facts = replace(facts, screening={request.destination: hits}) if hits else facts
            return evaluate(request, chosen_policy, facts, now=NOW)  # type: ignore[arg-type]

        return decide

    verdicts = [evaluate(r, policy, f, now=NOW).decision for r, f in cases[:2000]]
    assert verdicts == [evaluate(r, naive, f, now=NOW).decision for r, f in cases[:2000]], "index changed answers"  # noqa: S101
    print(
        f"decisions: {arguments.decisions:,}; outcomes of the first 2,000: "
        + ", ".join(f"{d} {verdicts.count(d)}" for d in ("allow", "needs_approval", "deny"))
    )
    peer_rate, _, peer_p99 = measure(
        "peer: every rule scanned (no candidate index)", decider(naive), arguments.decisions
    )
    rate, _, p99 = measure("mamori evaluate (candidate index) + screening", decider(policy), arguments.decisions)
    print(
        f"  ratio: {rate / peer_rate:.1f}x the peer's rate; p99 {p99:.1f} us (goal <= 200 us; peer {peer_p99:.1f} us)"
    )


if __name__ == "__main__":
    main()

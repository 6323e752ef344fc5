"""Benchmark: the guard service over HTTP — submit-and-decide latency under a fixed load, and durable decisions
per second — on SQLite and on PostgreSQL, against named peers measured in the same run (docs/benchmarks.md).

    .venv/bin/python bench/bench_guard_http.py [--seconds 15] [--rate 200] [--clients 16] [--saturation-seconds 10]
        [--backend sqlite|postgresql|both] [--client raw|httpx] [--quick]

For each backend, after the disk is synced and left quiet for 3 s (``settle``): a fresh database (a SQLite file in
a temporary directory; a PostgreSQL database created for the run and dropped after it) initialised as the sample
exchange (mamori.demo.exchange) with a bench policy, and ``mamori serve`` started as a child process
(mamori.demo.server.ServerProcess) with the real OFAC and FBI lists (../shared/data/intel). This process is the
client, on loopback (guard_load.py):

  loaded      open loop: ``--rate`` POST /v1/requests per second for ``--seconds``, each a signed hot-wallet
              request with its raw EIP-1559 transaction (submitted and decided in one call: released with an
              attestation), sent when due whatever the earlier ones are doing; latency from the due time. A request
              due while ``--max-in-flight`` are unanswered is dropped (counted, never sent)
  saturation  closed loop: ``--clients`` concurrent clients for ``--saturation-seconds``; every 200 is a durable
              decision (the service commits before it answers)
  sustained   open loop again at ``--fraction`` of the closed loop's rate: latency at a load the service carries
  check       every answer was a 200, and the database holds exactly as many decided withdrawals as 200s

Peers, same run: the framework floor (FastAPI + uvicorn, same settings as ``mamori serve``, in a child process,
validating the same body model and returning a constant; same generator) and the durability floor (one row inserted
and committed per transaction from ``--clients`` threads, engine from mamori.store.database.create_engine, on the
same database). Goals of issue 4: p99 <= 10 ms at 200 requests/s; >= 500 durable decisions/s.

Bench policy: the demo policy with its hot-wallet velocity limits kept (both counter queries run on every
decision) but raised out of reach (max_count 10^9 per 10 min, 10^9 ETH per 24 h).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import psycopg
import yaml
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from guard_load import FloorProcess, Result, closed_loop, open_loop, run
from mamori.demo import exchange as sample
from mamori.demo.server import ServerProcess, free_port
from mamori.store.database import create_engine
from mamori.store.guard_models import Withdrawal

INTEL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "intel"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
PATH = "/v1/requests"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def bench_policy_text() -> str:
    document = yaml.safe_load(sample.demo_policy_text())
    document["id"] = "bench-exchange"
    document["description"] = "The demo policy with its hot-wallet velocity limits out of reach (benchmark)."
    for limit in document["limits"]:
        if limit["id"] == "hot-velocity":
            limit["max_count"] = 10**9
        elif limit["id"] == "hot-daily-eth":
            limit["max_amount"] = f"{10**9} ETH"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def bodies(prefix: str, count: int) -> list[bytes]:
    """``count`` signed hot-wallet requests (0.001-0.01 ETH to a customer) with their transactions, as JSON."""
    ledger, now = sample.Ledger(), datetime.now(UTC)
    out = []
    for i in range(count):
        amount = sample.ETHER // 1000 * (1 + i % 10)
        document = ledger.request(
            f"{prefix}-{i:07d}",
            wallet=sample.HOT_WALLET,
            amount=amount,
            destination=sample.CUSTOMER,
            now=now,
            transaction=sample.hot_transfer(sample.CUSTOMER, amount, nonce=i),
        )
        out.append(orjson.dumps(document))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:  # noqa: PTH123  # one read of a proc file
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and of its children (``mamori serve --workers N`` runs N worker processes)."""
    total = cpu_seconds(pid)
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return total
    for task in tasks:
        try:
            children = (task / "children").read_text(encoding="ascii").split()
        except OSError:
            continue
        total += sum(tree_cpu_seconds(int(child)) for child in children)
    return total


def database_pids(name: str) -> list[int]:
    """PostgreSQL backends connected to database ``name`` (the server's pool), not other sessions' backends."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)).fetchall()
    return [int(pid) for (pid,) in rows]


@dataclass
class Phase:
    result: Result
    server_cpu: float  # seconds of CPU in the server process during the phase
    database_cpu: float  # in the PostgreSQL backends serving its pool (0 for SQLite: in the server's process)
    client_cpu: float

    def per_request(self) -> str:
        per = 1000 / max(self.result.answered, 1)
        database = f", its PostgreSQL backends {self.database_cpu * per:.2f} ms" if self.database_cpu else ""
        return (
            f"CPU per request: server {self.server_cpu * per:.2f} ms{database}, client {self.client_cpu * per:.2f} ms"
        )


def measured(phase: Callable[[], tuple[Result, int]], server: int, database: str | None) -> tuple[Phase, int]:
    def database_cpu() -> dict[int, float]:
        return {pid: cpu_seconds(pid) for pid in database_pids(database)} if database else {}

    server0, database0, client0 = tree_cpu_seconds(server), database_cpu(), time.process_time()
    result, warmed = phase()
    client = time.process_time() - client0
    database1 = database_cpu()  # a backend opened during the phase counts from 0
    used = sum(cpu - database0.get(pid, 0.0) for pid, cpu in database1.items())
    return Phase(result, tree_cpu_seconds(server) - server0, used, client), warmed


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


def print_latency(label: str, phase: Phase, rate: float) -> None:
    r = phase.result
    print(
        f"  {label:<36} p50 {ms(r.percentile(0.5))}  p90 {ms(r.percentile(0.9))}  p99 {ms(r.percentile(0.99))}"
        f"  max {ms(max(r.latencies, default=0))} ms;  answered {r.rate():6.1f} /s of {rate:.0f} /s due"
    )
    first, last = r.window(0.0, 0.2), r.window(0.8, 1.01)
    dropped = f"; DROPPED {r.dropped} of {r.sent + r.dropped} (too many unanswered)" if r.dropped else ""
    print(
        f"  {'':<36} p50/p99 of the first fifth {ms(r.percentile(0.5, first)).strip()}/"
        f"{ms(r.percentile(0.99, first)).strip()} ms, of the last {ms(r.percentile(0.5, last)).strip()}/"
        f"{ms(r.percentile(0.99, last)).strip()} ms; {phase.per_request()}{dropped}"
    )
    check_answers(label, r)


def print_saturation(label: str, phase: Phase, clients: int) -> None:
    r = phase.result
    print(
        f"  {label:<34} {r.ok / r.elapsed:9,.0f} /s with {clients} clients   p50 {ms(r.percentile(0.5))}"
        f"  p99 {ms(r.percentile(0.99))} ms;  {phase.per_request()}"
    )
    check_answers(label, r)


def check_answers(label: str, r: Result) -> None:
    if r.ok != r.answered or r.errors or r.answered != r.sent:
        print(
            f"  !! {label}: statuses {dict(r.statuses)}, errors {dict(r.errors)}, sent {r.sent}, answered {r.answered}"
        )


# --- the durability floor -----------------------------------------------------------------------------------------
def commit_floor(url: str, *, threads: int, seconds: float) -> tuple[float, int]:
    """Transactions per second that insert one row and commit, from ``threads`` threads, on the guard's engine
    settings; returns (rate, rows found afterwards)."""
    engine = create_engine(url)
    table = Table(
        "bench_commit_floor",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("worker", Integer),
        Column("payload", String(64)),
    )
    table.create(engine, checkfirst=True)
    counts = [0] * threads
    stop = time.monotonic() + seconds + 0.1
    barrier = threading.Barrier(threads + 1)

    def worker(n: int) -> None:
        barrier.wait()
        statement = insert(table)
        while time.monotonic() < stop:
            with engine.begin() as connection:
                connection.execute(statement, {"worker": n, "payload": "x" * 64})
            counts[n] += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    with engine.connect() as connection:
        rows = int(connection.execute(select(func.count()).select_from(table)).scalar_one())
    table.drop(engine)
    engine.dispose()
    return sum(counts) / elapsed, rows


# --- one backend ----------------------------------------------------------------------------------------------------
@dataclass
class Figures:
    loaded: Result  # open loop at --rate
    decisions: float  # closed loop, 200s per second
    sustained: Result  # open loop at a fraction of the closed loop's rate
    sustained_rate: float
    commits: float


def create_pg_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return PG_URL.format(database=name)


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settle(seconds: float = 3.0) -> None:
    """Let what the previous phase wrote reach the disk before a backend's phases start: the SQLite phase and its
    durability floor leave tens of megabytes for the kernel to write back, which PostgreSQL's commits, each waiting
    for its own flush, would otherwise queue behind."""
    os.sync()
    time.sleep(seconds)


def bench_backend(backend: str, args: argparse.Namespace, directory: Path) -> Figures:
    pg_name = f"mamori_bench_{os.getpid()}"
    url = f"sqlite:///{directory / 'guard.db'}" if backend == "sqlite" else create_pg_database(pg_name)
    try:
        return _bench_backend(backend, url, args, directory)
    finally:
        if backend == "postgresql":
            drop_pg_database(pg_name)


def _bench_backend(backend: str, url: str, args: argparse.Namespace, directory: Path) -> Figures:
    print(f"\n{backend}: {url}")
    engine = create_engine(url)
    key_path = directory / f"guard-{backend}.key"
    _, keys = sample.set_up_exchange(
        engine, guard_key_path=key_path, now=datetime.now(UTC), policy_text=bench_policy_text()
    )
    warm = max(8, args.clients)
    started = time.perf_counter()
    loaded_bodies = iter(bodies(f"{backend}-open", round(args.rate * args.seconds) + warm))
    saturation_bodies = iter(bodies(f"{backend}-closed", args.clients + round(args.saturation_seconds * args.cap)))
    print(f"  signed request bodies built in {time.perf_counter() - started:.1f} s")
    headers = {"Authorization": f"Bearer {keys.initiator}"}
    log = directory / f"serve-{backend}.log"
    with ServerProcess(url, key_path, intel=INTEL, log=log, startup_timeout=120, workers=args.workers) as server:
        assert server.process is not None  # noqa: S101
        server_pid = server.process.pid

        database = url.rsplit("/", 1)[1] if backend == "postgresql" else None

        def open_phase(body_iter: Iterator[bytes], rate: float) -> tuple[Phase, int]:
            coroutine = open_loop(
                server.base_url,
                PATH,
                body_iter,
                headers,
                rate=rate,
                seconds=args.seconds,
                warm=warm,
                max_in_flight=args.max_in_flight,
                kind=args.client,
            )
            return measured(lambda: run(coroutine), server_pid, database)

        for wallet, amount in ((sample.COLD_WALLET, 401_347), (sample.HOT_WALLET, 10**9)):
            body = {"wallet": wallet, "asset": "ETH", "amount": str(amount * sample.ETHER)}
            response = httpx.put(server.base_url + "/v1/balances", json=body, headers=headers, timeout=30)
            if response.status_code != 200:
                raise SystemExit(f"balance report refused: {response.text}")
        loaded, warmed_loaded = open_phase(loaded_bodies, args.rate)
        print_latency(f"mamori open loop, {args.rate:g}/s", loaded, args.rate)
        closed = closed_loop(
            server.base_url,
            PATH,
            saturation_bodies,
            headers,
            clients=args.clients,
            seconds=args.saturation_seconds,
            kind=args.client,
        )
        saturation, warmed_closed = measured(lambda: run(closed), server_pid, database)
        print_saturation("mamori durable decisions", saturation, args.clients)
        decisions = saturation.result.ok / saturation.result.elapsed
        sustained_rate = max(1.0, round(decisions * args.fraction))
        sustained_bodies = iter(bodies(f"{backend}-sustained", round(sustained_rate * args.seconds) + warm))
        sustained, warmed_sustained = open_phase(sustained_bodies, sustained_rate)
        print_latency(f"mamori open loop, {sustained_rate:g}/s", sustained, sustained_rate)
    phases = (loaded, saturation, sustained)
    ok = warmed_loaded + warmed_closed + warmed_sustained + sum(phase.result.ok for phase in phases)
    with engine.connect() as connection:
        query = select(Withdrawal.status, func.count()).where(Withdrawal.decided_us.is_not(None))
        statuses = Counter(dict(connection.execute(query.group_by(Withdrawal.status)).all()))
    engine.dispose()
    decided = sum(statuses.values())
    every = all(phase.result.ok == phase.result.answered == phase.result.sent for phase in phases)
    verdict = "OK" if decided == ok and set(statuses) == {"released"} and every else "MISMATCH"
    print(
        f"  check: {ok} answers, all 200 {every}; {decided} decided withdrawals in the database {dict(statuses)}:"
        f" {verdict}"
    )
    commits, rows = commit_floor(url, threads=args.clients, seconds=args.floor_seconds)
    print(f"  peer: durability floor (1 insert + commit per transaction, {args.clients} threads) {commits:9,.0f} /s")
    print(f"  ratio: mamori decisions / bare commits = {decisions / commits:.3f}  ({rows} floor rows committed)")
    if verdict != "OK":
        raise SystemExit("benchmark aborted: the database does not match the answers")
    return Figures(loaded.result, decisions, sustained.result, sustained_rate, commits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="open-loop latency test length")
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop requests per second")
    parser.add_argument("--clients", type=int, default=16, help="closed-loop concurrent clients and floor threads")
    parser.add_argument("--saturation-seconds", type=float, default=10.0)
    parser.add_argument("--floor-seconds", type=float, default=5.0, help="durability floor length")
    parser.add_argument("--cap", type=float, default=1500.0, help="most decisions/s the closed loop can consume")
    parser.add_argument("--max-in-flight", type=int, default=200, help="open loop: unanswered requests at most")
    parser.add_argument(
        "--fraction", type=float, default=0.5, help="sustained open loop: share of the closed loop's rate"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=1, help="mamori serve worker processes")
    parser.add_argument(
        "--client", choices=["raw", "httpx"], default="raw", help="load generator's HTTP client (guard_load.py)"
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run (3 s phases)")
    args = parser.parse_args()
    if args.quick:
        args.seconds = args.saturation_seconds = 3.0
        args.floor_seconds = 2.0
    if not INTEL.is_dir():
        raise SystemExit(f"no screening lists at {INTEL}")
    print(
        f"mamori guard over HTTP: open loop {args.rate:g}/s for {args.seconds:g} s, closed loop {args.clients} clients"
        f" for {args.saturation_seconds:g} s; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    print("bench policy: the demo policy, hot-wallet velocity limits raised to 10^9 (their queries still run)")

    floor_bodies = itertools.cycle(bodies("floor", 1000))  # the floor keeps nothing: bodies may repeat
    print("\nframework floor: FastAPI + uvicorn, same body model, constant answer")
    with FloorProcess(free_port()) as floor:
        assert floor.process is not None  # noqa: S101
        floor_pid = floor.process.pid
        phase, _ = measured(
            lambda: run(
                open_loop(
                    floor.base_url, PATH, floor_bodies, {}, rate=args.rate, seconds=args.seconds, kind=args.client
                )
            ),
            floor_pid,
            None,
        )
        print_latency(f"peer: framework floor, {args.rate:g}/s", phase, args.rate)
        floor_p99 = phase.result.percentile(0.99)
        closed, _ = measured(
            lambda: run(
                closed_loop(
                    floor.base_url,
                    PATH,
                    floor_bodies,
                    {},
                    clients=args.clients,
                    seconds=args.saturation_seconds / 2,
                    kind=args.client,
                )
            ),
            floor_pid,
            None,
        )
        print_saturation("peer: framework floor, closed loop", closed, args.clients)

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    directory = Path(tempfile.mkdtemp(prefix="mamori-bench-http-"))
    figures = {}
    try:
        for backend in backends:
            settle()
            figures[backend] = bench_backend(backend, args, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    print("\nsummary (goals: p99 <= 10 ms at 200/s; >= 500 durable decisions/s)")
    for backend, f in figures.items():
        loaded, sustained = f.loaded, f.sustained
        print(
            f"  {backend:<10} at {args.rate:g}/s: p50 {ms(loaded.percentile(0.5))} ms"
            f"  p99 {ms(loaded.percentile(0.99))} ms ({loaded.percentile(0.99) / floor_p99:,.0f}x the framework"
            f" floor's {floor_p99 * 1000:.2f} ms),"
            f" {loaded.rate():.0f}/s answered, {loaded.dropped} dropped"
        )
        print(
            f"  {'':<10} {f.decisions:,.0f} durable decisions/s ({f.decisions / f.commits:.3f}x {f.commits:,.0f} bare"
            f" commits/s);  at {f.sustained_rate:g}/s: p50 {ms(sustained.percentile(0.5))} ms"
            f"  p99 {ms(sustained.percentile(0.99))} ms ({sustained.percentile(0.99) / floor_p99:,.1f}x the floor)"
        )


if __name__ == "__main__":
    main()

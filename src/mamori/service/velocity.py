"""Velocity counters whose cost does not grow with the withdrawals in their window.

A daily amount limit over a hot wallet that pays out 350,000 withdrawals in ten hours (Bybit's clients, February
2025) cannot sum every reservation of the day at every decision. Reservations are therefore also summed into
aligned buckets of 10 ms up to 1 hour (``LEVELS``), per *scope* — the values of one ``per`` key combination of the
policy's limits, e.g. wallet ``hot-1`` and asset ``ETH`` — and asset. A window ``(since, until]`` is cut
(:func:`cover`) into runs of whole buckets (hours in the middle, ever smaller ones towards each edge) and two edges
finer than 10 ms read from the reservations themselves: at most about 130 small rows whatever the volume, and
exact — every bucket is the sum of exactly the reservations that fall in it.

Buckets are kept for the ``per`` combinations registered in ``guard_velocity_scopes``. A combination is registered
(and its buckets filled from the reservations) the first time a limit with it is counted; from then on every
change of a reservation, in the same transaction, changes its buckets (:func:`apply_changes`). All of this runs
under the audit log's lock, like every write of the guard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import orjson
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Connection,
    Engine,
    Integer,
    Select,
    Table,
    Text,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy import cast as sql_cast

from mamori.store.bulk import insert_rows
from mamori.store.direct import Prepared, Statement, run
from mamori.store.guard_models import LIMB_BITS, Reservation, VelocityBucket, VelocityScope

# Bucket sizes in microseconds: 10 ms, 100 ms, 1 s, 10 s, 1 min, 10 min, 1 h. Each divides the next, in small
# steps, so that an edge of a window costs at most a few buckets per level (not every reservation of its second).
LEVELS = (10_000, 100_000, 1_000_000, 10_000_000, 60_000_000, 600_000_000, 3_600_000_000)
RAW = -1  # a piece of a window read from the reservations themselves
_MASK = (1 << LIMB_BITS) - 1
_BUCKET_SLOTS = 2 * len(LEVELS) - 1  # whole-bucket runs of a window: one at the top level, two per lower level
_RAW_SLOTS = 2  # the edges finer than the finest bucket
FIELDS = ("wallet", "asset", "destination", "initiator")

Totals = dict[str, list[int]]  # asset -> [count, amount]
Piece = tuple[int, int, int]  # (level or RAW, start, end): microseconds, start inclusive, end exclusive


def cover(start: int, end: int) -> list[Piece]:
    """``[start, end)`` as disjoint pieces: runs of whole aligned buckets ``(level, first, last)`` — every bucket of
    ``level`` whose start is in ``[first, last)`` — and ``(RAW, a, b)`` ranges for what no whole bucket covers."""
    pieces: list[Piece] = []

    def cut(low: int, high: int, level: int) -> None:
        if low >= high:
            return
        if level < 0:
            pieces.append((RAW, low, high))
            return
        size = LEVELS[level]
        first, last = -(-low // size) * size, high // size * size
        if first >= last:
            cut(low, high, level - 1)
            return
        cut(low, first, level - 1)
        pieces.append((level, first, last))
        cut(last, high, level - 1)

    cut(start, end, len(LEVELS) - 1)
    return pieces


def per_name(per: Sequence[str]) -> str:
    """How a ``per`` combination is registered: its field names in the policy's order ("" for all withdrawals)."""
    return ",".join(per)


def scope_of(per: Sequence[str], values: Sequence[str]) -> str:
    return hashlib.sha256(orjson.dumps([list(per), list(values)])).hexdigest()[:32]


def limbs(amount: int) -> tuple[int, int, int]:
    """``amount`` (negative for a removal) as l0 + l1·2^40 + l2·2^80 with l0 and l1 in [0, 2^40)."""
    return amount & _MASK, (amount >> LIMB_BITS) & _MASK, amount >> (2 * LIMB_BITS)


def total_of(l0: Any, l1: Any, l2: Any) -> int:
    """Sums of limbs (int on SQLite, Decimal on PostgreSQL; None for no rows) as the amount."""
    return int(l0 or 0) + (int(l1 or 0) << LIMB_BITS) + (int(l2 or 0) << (2 * LIMB_BITS))


# --- reading ----------------------------------------------------------------------------------------------------
_B = VelocityBucket.__table__.c
_R = Reservation.__table__.c
# One aggregate per run of whole buckets, each one range of the primary key (an OR of the runs in one WHERE makes
# SQLite read every bucket of the scope instead).
_BUCKET_RUNS = [
    select(_B.asset, func.sum(_B.count), func.sum(_B.l0), func.sum(_B.l1), func.sum(_B.l2))
    .where(
        _B.scope == bindparam("scope"),
        _B.level == bindparam(f"level_{i}"),
        _B.start_us >= bindparam(f"first_{i}"),
        _B.start_us < bindparam(f"last_{i}"),
    )
    .group_by(_B.asset)
    for i in range(_BUCKET_SLOTS)
]
# PostgreSQL: the runs as three arrays — a statement of eight parameters instead of forty, and one index range scan
# of the primary key per run whatever the plan's estimates (an OR of the runs, planned generically while the
# table was small, read every bucket of the scope).
_RUNS = (
    func.unnest(
        sql_cast(bindparam("levels", type_=Text), ARRAY(Integer)),
        sql_cast(bindparam("firsts", type_=Text), ARRAY(BigInteger)),
        sql_cast(bindparam("lasts", type_=Text), ARRAY(BigInteger)),
    )
    .table_valued("level", "first_us", "last_us")
    .render_derived(name="runs")
)
_RUN_BUCKETS = (
    select(_B.asset, _B.count, _B.l0, _B.l1, _B.l2)
    .where(
        _B.scope == bindparam("scope"),
        _B.level == _RUNS.c.level,
        _B.start_us >= _RUNS.c.first_us,
        _B.start_us < _RUNS.c.last_us,
    )
    .offset(literal_column("0"))
    .lateral("run_buckets")
)
# The buckets of each run in a LATERAL subquery that the planner cannot merge into a join (OFFSET 0): each run is
# then one range scan of the primary key (as a join, a generic plan hashed every bucket of a busy scope: 0.7 s at
# 5 million, where this takes 0.3 ms).
_BUCKET_RUNS_JOINED = (
    select(
        _RUN_BUCKETS.c.asset,
        func.sum(_RUN_BUCKETS.c.count),
        func.sum(_RUN_BUCKETS.c.l0),
        func.sum(_RUN_BUCKETS.c.l1),
        func.sum(_RUN_BUCKETS.c.l2),
    )
    .select_from(_RUNS)
    .join(_RUN_BUCKETS, true())
    .group_by(_RUN_BUCKETS.c.asset)
)
_WINDOW_STATEMENTS: dict[tuple[str, ...], Prepared] = {}
_RAW_STATEMENTS: dict[tuple[str, ...], list[Select[Any]]] = {}
_SCANS: dict[tuple[str, ...], Prepared] = {}


def _raw_statements(per: tuple[str, ...]) -> list[Select[Any]]:
    """COUNT and sums of the amount's limbs per asset, of the reservations sharing ``per``: one aggregate per range,
    each a single range of an index (an OR of the ranges in one WHERE let PostgreSQL's generic plan read every
    reservation of the wallet and filter them: 180 µs per window at 2,000 reservations, growing with them)."""
    statements = _RAW_STATEMENTS.get(per)
    if statements is None:
        statements = _RAW_STATEMENTS[per] = [
            select(_R.asset, func.count(), func.sum(_R.amount_l0), func.sum(_R.amount_l1), func.sum(_R.amount_l2))
            .where(
                _R.reserved_us >= bindparam(f"low_{i}"),
                _R.reserved_us < bindparam(f"high_{i}"),
                *(getattr(_R, key) == bindparam(f"per_{key}") for key in per),
            )
            .group_by(_R.asset)
            for i in range(_RAW_SLOTS)
        ]
    return statements


def _window_statement(per: tuple[str, ...], dialect: str) -> Prepared:
    """A window in one round trip: its two edges from the reservations, its runs of whole buckets (on PostgreSQL one
    aggregate over the runs given as arrays, on SQLite one per run)."""
    statement = _WINDOW_STATEMENTS.get((dialect, *per))
    if statement is None:
        runs = [_BUCKET_RUNS_JOINED] if dialect == "postgresql" else _BUCKET_RUNS
        statement = _WINDOW_STATEMENTS[(dialect, *per)] = Prepared(union_all(*_raw_statements(per), *runs))
    return statement


def _scan_statement(per: tuple[str, ...]) -> Prepared:
    statement = _SCANS.get(per)
    if statement is None:
        statement = _SCANS[per] = Prepared(union_all(*_raw_statements(per)))
    return statement


def _parameters(per: tuple[str, ...], values: Sequence[str], ranges: Sequence[tuple[int, int]]) -> dict[str, Any]:
    if len(ranges) > _RAW_SLOTS:
        raise ValueError(f"at most {_RAW_SLOTS} ranges")
    parameters: dict[str, Any] = {f"per_{key}": value for key, value in zip(per, values, strict=True)}
    padded = [*ranges, *([(0, 0)] * (_RAW_SLOTS - len(ranges)))]
    for i, (low, high) in enumerate(padded):
        parameters[f"low_{i}"], parameters[f"high_{i}"] = low, high
    return parameters


def _sum_into(totals: Totals, rows: Iterable[Any]) -> Totals:
    for asset, count, l0, l1, l2 in rows:
        if count:
            found = totals.setdefault(asset, [0, 0])
            found[0] += int(count)
            found[1] += total_of(l0, l1, l2)
    return totals


def scan_totals(
    db: Connection, per: tuple[str, ...], values: Sequence[str], ranges: Sequence[tuple[int, int]]
) -> Totals:
    """The reservations themselves, in up to two ``[low, high)`` ranges: what the buckets must add up to."""
    return _sum_into({}, _scan_statement(per).rows(db, _parameters(per, values, ranges)))


def window_totals(db: Connection, per: tuple[str, ...], values: Sequence[str], since_us: int, until_us: int) -> Totals:
    """Reservations sharing ``values`` of ``per`` with ``reserved_us`` in ``(since_us, until_us]``, per asset, from
    the buckets and the two edges. ``per`` must be registered (:func:`ensure_registered`)."""
    return totals_of(run(db, *window_query(db, per, values, since_us, until_us)))


def totals_of(rows: Iterable[Any]) -> Totals:
    """What :func:`window_query`'s statement returned, per asset."""
    return _sum_into({}, rows)


def window_query(
    db: Connection | Engine, per: tuple[str, ...], values: Sequence[str], since_us: int, until_us: int
) -> tuple[str, Mapping[str, Any]]:
    """The statement of :func:`window_totals` and its parameters (to run with others, ``direct.run_all``)."""
    pieces = cover(since_us + 1, until_us + 1)
    runs = [piece for piece in pieces if piece[0] != RAW]
    parameters = _parameters(per, values, [(low, high) for level, low, high in pieces if level == RAW])
    parameters["scope"] = scope_of(per, values)
    if db.dialect.name == "postgresql":
        for name, column in (("levels", 0), ("firsts", 1), ("lasts", 2)):
            parameters[name] = "{" + ",".join(str(run[column]) for run in runs) + "}"  # integers: an array literal
    else:
        padded = [*runs, *([(RAW, 0, 0)] * (_BUCKET_SLOTS - len(runs)))]
        for i, (level, first, last) in enumerate(padded):
            parameters[f"level_{i}"], parameters[f"first_{i}"], parameters[f"last_{i}"] = level, first, last
    return _window_statement(per, db.dialect.name).bind(db, parameters)


def held_reservation(db: Connection, request_id: str) -> dict[str, Any] | None:
    """The reservation ``request_id`` holds now (its columns as the counters and buckets read them), or None."""
    found = _HELD.first(db, {"request_id": request_id})
    return dict(zip(_HELD_COLUMNS, found, strict=True)) if found is not None else None


_HELD_COLUMNS = ("request_id", "wallet", "asset", "destination", "initiator", "reserved_us", "amount")
_HELD = Prepared(select(*(_R[name] for name in _HELD_COLUMNS)).where(_R.request_id == bindparam("request_id")))


# --- keeping the buckets ------------------------------------------------------------------------------------------
_REGISTERED = Prepared(select(VelocityScope.per))
_ALL_RESERVATIONS = select(_R.wallet, _R.asset, _R.destination, _R.initiator, _R.reserved_us, _R.amount)
_INSERT_SCOPE = insert(cast(Table, VelocityScope.__table__))
_BUCKETS = cast(Table, VelocityBucket.__table__)
# Added to what is there: the limbs with their carries (``&`` and ``>>`` on 64-bit integers, the same on SQLite and
# PostgreSQL; a negative sum carries -1 upwards, as floor division does).
_LOW = "(guard_velocity_buckets.l0 + excluded.l0)"
_MIDDLE = f"(guard_velocity_buckets.l1 + excluded.l1 + ({_LOW} >> {LIMB_BITS}))"
_ADD_TO_BUCKET = (
    "ON CONFLICT (scope, level, start_us, asset) DO UPDATE SET"
    ' "count" = guard_velocity_buckets."count" + excluded."count",'
    f" l0 = {_LOW} & {_MASK}, l1 = {_MIDDLE} & {_MASK},"
    f" l2 = guard_velocity_buckets.l2 + excluded.l2 + ({_MIDDLE} >> {LIMB_BITS})"
)
BucketKey = tuple[str, int, int, str]  # scope, level, start, asset


def registered(db: Connection) -> set[tuple[str, ...]]:
    """The ``per`` combinations whose buckets are kept."""
    return registered_from(_REGISTERED.rows(db, {}))


def registered_query(db: Connection | Engine) -> Statement:
    """The statement of :func:`registered`, to run with others (``direct.run_all``); its rows go to
    :func:`registered_from`."""
    return _REGISTERED.bind(db, {})


def registered_from(rows: Iterable[Any]) -> set[tuple[str, ...]]:
    return {tuple(name.split(",")) if name else () for (name,) in rows}


def ensure_registered(db: Connection, per: tuple[str, ...], known: set[tuple[str, ...]], *, now_us: int) -> None:
    """Register ``per`` (adding it to ``known``) and fill its buckets from the reservations, if not yet done."""
    if per in known:
        return
    unknown = [key for key in per if key not in FIELDS]
    if unknown:
        raise ValueError(f"not a field of a reservation: {unknown}")
    rows = [dict(row._mapping) for row in db.execute(_ALL_RESERVATIONS)]
    apply_changes(db, [(row, 1) for row in rows], {per})
    db.execute(_INSERT_SCOPE, {"per": per_name(per), "registered_us": now_us})
    known.add(per)


def bucket_changes(
    changes: Iterable[tuple[Mapping[str, Any], int]], pers: Iterable[tuple[str, ...]]
) -> dict[BucketKey, list[int]]:
    """What ``changes`` — (reservation, +1 added / -1 removed) — add to each bucket of the ``pers`` combinations."""
    summed: dict[BucketKey, list[int]] = {}
    pers = list(pers)
    for reservation, sign in changes:
        at, asset, amount = int(reservation["reserved_us"]), str(reservation["asset"]), int(reservation["amount"])
        for per in pers:
            scope = scope_of(per, [reservation[key] for key in per])
            for level, size in enumerate(LEVELS):
                found = summed.setdefault((scope, level, at // size * size, asset), [0, 0])
                found[0] += sign
                found[1] += sign * amount
    return summed


def apply_changes(
    db: Connection, changes: Iterable[tuple[Mapping[str, Any], int]], pers: Iterable[tuple[str, ...]]
) -> None:
    """Add ``changes`` to the buckets of ``pers``, one upsert statement for all of them."""
    summed = bucket_changes(changes, pers)
    rows = []
    for (scope, level, start, asset), (count, amount) in summed.items():
        if count == 0 and amount == 0:
            continue
        l0, l1, l2 = limbs(amount)
        rows.append(
            {"scope": scope, "level": level, "start_us": start, "asset": asset, "count": count}
            | {"l0": l0, "l1": l1, "l2": l2}
        )
    insert_rows(db, _BUCKETS, rows, on_conflict=_ADD_TO_BUCKET)

"""Facts for one decision, read from the database inside the decision's transaction (after the log's lock).

Velocity counters are the same numbers as :func:`mamori.policy.check.velocity_counters` computes from a history
list — differential tests hold them together — but from the reservations' buckets (service/velocity.py).

A group commit decides many fresh submissions in one transaction (service/batching.py); their facts come through
one :class:`FactCache`, which reads each balance, address-book entry and velocity key once per transaction and
adds, in memory, the reservations the transaction has decided but not yet written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.orm import Session

from mamori.policy.facts import (
    AddressBookEntry,
    Approval,
    Facts,
    ScreeningHit,
    TransactionFacts,
    VelocityCounter,
    window_start,
)
from mamori.policy.model import Policy
from mamori.policy.request import WithdrawalRequest
from mamori.service import velocity
from mamori.store.direct import Prepared, Statement, run_all
from mamori.store.guard_models import (
    AddressBookRow,
    ApproverKey,
    Balance,
    WithdrawalApproval,
)

# Statuses that hold a reservation against velocity limits.
RESERVING = ("pending_approval", "released")
Screen = Callable[[str, str], tuple[ScreeningHit, ...]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch (exact, unlike ``timestamp()``'s float)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def gather_facts(
    db: Session | Connection,
    policy: Policy,
    request: WithdrawalRequest,
    transaction: TransactionFacts | None,
    *,
    signing_hash: str | None,
    now: datetime,
    screen: Screen | None,
    screened_lists: frozenset[str],
    policy_version: int,
    fresh: bool = False,
    cache: FactCache | None = None,
) -> Facts:
    """``fresh``: the request is new in this very transaction — it has no approvals yet and holds no reservation —
    so its facts may come from ``cache``, shared with the transaction's other fresh requests."""
    _, limits = policy.candidates_for(request.wallet, request.asset, request.destination)
    shared = cache if cache is not None and fresh else None
    if shared is not None:
        balances = shared.balances(db, request.wallet)
        address_book = shared.address_book(db, request.chain, request.destination)
        velocity_ = {
            limit.id: shared.velocity(db, request, limit.per, limit.asset, limit.window_seconds, now=now)
            for limit in limits
            if limit.kind == "velocity"
        }
    else:
        balances = _balances(db, request.wallet)
        address_book = _address_book(db, request.chain, request.destination)
        velocity_ = {
            limit.id: velocity_counter(db, request, limit.per, limit.asset, limit.window_seconds, now=now, cache=cache)
            for limit in limits
            if limit.kind == "velocity"
        }
    return Facts(
        balances=balances,
        velocity=velocity_,
        address_book=address_book,
        screening=_screening(request, transaction, screen),
        transaction=transaction,
        approvals=()
        if fresh
        else _approvals(db, request.request_id, signing_hash, policy.digest, policy_version, now=now),
        screened_lists=screened_lists,
    )


def velocity_counter(
    db: Session | Connection,
    request: WithdrawalRequest,
    per: tuple[str, ...],
    asset: str | None,
    window_seconds: int,
    *,
    now: datetime,
    cache: FactCache | None = None,
) -> VelocityCounter:
    """Reserved withdrawals in ``(now - window, now]`` sharing ``per`` with ``request``, this one excluded: from
    the buckets of service/velocity.py and the window's edges, whatever the number of withdrawals in it."""
    connection = _connection(db)
    cache = cache if cache is not None else FactCache()
    since, until = to_us(window_start(now, window_seconds)), to_us(now)
    values = tuple(getattr(request, key) for key in per)
    cache.register(connection, per, now_us=until)
    by_asset = velocity.window_totals(connection, per, values, since, until)
    own = velocity.held_reservation(connection, request.request_id)
    if own is not None and _counted((per, values, since, until), own):
        _add(by_asset, own, sign=-1)
    return _counter(by_asset, asset)


def _counter(by_asset: velocity.Totals, asset: str | None) -> VelocityCounter:
    count = sum(counted for counted, _ in by_asset.values())
    if asset is None:
        return VelocityCounter(count, sum(amount for _, amount in by_asset.values()))
    return VelocityCounter(count, by_asset[asset][1] if asset in by_asset else 0)


def _connection(db: Session | Connection) -> Connection:
    return db if isinstance(db, Connection) else db.connection()


_VelocityKey = tuple[tuple[str, ...], tuple[str, ...], int, int]  # per, its values, since, until (microseconds)


@dataclass(frozen=True, slots=True)
class FactReads:
    """The statements that read a batch's facts, and what each reads, in order: balances of ``wallets``,
    address-book entries of ``books``, velocity windows of ``keys``; ``pers``: the combinations they count by."""

    statements: list[Statement]
    wallets: list[str]
    books: list[tuple[str, str]]
    keys: list[_VelocityKey]
    pers: frozenset[tuple[str, ...]]


class FactCache:
    """Facts shared by the decisions of one transaction (a group commit's batch decides many fresh ones), and the
    reservations it changes.

    Each balance, address-book entry and velocity key is read once, under the log's lock, so it cannot change
    before commit except by this transaction. A fresh decision's reservation is written when the transaction
    ends (``UnitOfWork.insert_later``): :meth:`reserved` counts it here, in memory, at once, and :meth:`write`
    adds it to the velocity buckets with the others. A reservation changed in the database directly
    (:meth:`changed`) updates the buckets at once and drops the counts, which are then read again."""

    __slots__ = ("_balances", "_book", "_counts", "_registered", "_unwritten")

    def __init__(self) -> None:
        self._balances: dict[str, dict[tuple[str, str], int]] = {}
        self._book: dict[tuple[str, str], dict[tuple[str, str], AddressBookEntry]] = {}
        # per asset: [count, amount], for the reservations in the database plus those not yet written
        self._counts: dict[_VelocityKey, velocity.Totals] = {}
        self._registered: set[tuple[str, ...]] | None = None
        self._unwritten: list[dict[str, Any]] = []

    def balances(self, db: Session | Connection, wallet: str) -> dict[tuple[str, str], int]:
        found = self._balances.get(wallet)
        if found is None:
            found = self._balances[wallet] = _balances(db, wallet)
        return found

    def address_book(
        self, db: Session | Connection, chain: str, address: str
    ) -> dict[tuple[str, str], AddressBookEntry]:
        found = self._book.get((chain, address))
        if found is None:
            found = self._book[(chain, address)] = _address_book(db, chain, address)
        return found

    def velocity(
        self,
        db: Session | Connection,
        request: WithdrawalRequest,
        per: tuple[str, ...],
        asset: str | None,
        window_seconds: int,
        *,
        now: datetime,
    ) -> VelocityCounter:
        """:func:`velocity_counter` for a request that holds no reservation yet."""
        since, until = to_us(window_start(now, window_seconds)), to_us(now)
        values = tuple(getattr(request, key) for key in per)
        key = (per, values, since, until)
        by_asset = self._counts.get(key)
        if by_asset is None:
            connection = _connection(db)
            self.register(connection, per, now_us=until)
            by_asset = velocity.window_totals(connection, per, values, since, until)
            for reservation in self._unwritten:
                if _counted(key, reservation):
                    _add(by_asset, reservation)
            self._counts[key] = by_asset
        return _counter(by_asset, asset)

    def prefetch(
        self, db: Session | Connection, policy: Policy, requests: Sequence[WithdrawalRequest], *, now: datetime
    ) -> None:
        """Read at once what the fresh decisions of ``requests`` will ask for — balances, address-book entries,
        velocity windows — in one round trip on PostgreSQL (``direct.run_all``) instead of one per fact."""
        connection = _connection(db)
        reads = self.reads_for(connection, policy, requests, now=now)
        for per in reads.pers:
            self.register(connection, per, now_us=to_us(now))
        if reads.statements:
            self.take(reads, run_all(connection, reads.statements))

    def reads_for(
        self, db: Connection | Engine, policy: Policy, requests: Sequence[WithdrawalRequest], *, now: datetime
    ) -> FactReads:
        """What :meth:`prefetch` reads (what this cache does not hold yet), as statements to run with others: their
        rows go to :meth:`take`. The velocity windows count only once every combination in ``pers`` is
        registered (the caller registers them first, or checks that they were)."""
        until = to_us(now)
        wallets: dict[str, None] = {}
        books: dict[tuple[str, str], None] = {}
        keys: dict[_VelocityKey, None] = {}
        pers: set[tuple[str, ...]] = set()
        for request in requests:
            wallets.setdefault(request.wallet)
            books.setdefault((request.chain, request.destination))
            _, limits = policy.candidates_for(request.wallet, request.asset, request.destination)
            for limit in limits:
                if limit.kind == "velocity":
                    pers.add(limit.per)
                    since = to_us(window_start(now, limit.window_seconds))
                    keys.setdefault((limit.per, tuple(getattr(request, key) for key in limit.per), since, until))
        wanted_wallets = [wallet for wallet in wallets if wallet not in self._balances]
        wanted_books = [book for book in books if book not in self._book]
        wanted_keys = [key for key in keys if key not in self._counts]
        statements = [_BALANCES.bind(db, {"wallet": wallet}) for wallet in wanted_wallets]
        statements += [_BOOK.bind(db, {"chain": chain, "address": address}) for chain, address in wanted_books]
        statements += [velocity.window_query(db, *key) for key in wanted_keys]
        return FactReads(statements, wanted_wallets, wanted_books, wanted_keys, frozenset(pers))

    def take(self, reads: FactReads, results: Sequence[list[tuple[Any, ...]]]) -> None:
        """Hold the facts of ``reads`` from the rows of its statements."""
        if len(results) != len(reads.statements):
            raise ValueError("the rows of every statement of the reads are needed")
        found = iter(results)
        for wallet in reads.wallets:
            self._balances[wallet] = {(wallet, asset): int(amount) for asset, amount in next(found)}
        for chain, address in reads.books:
            self._book[(chain, address)] = _book_entry(chain, address, next(found))
        for key in reads.keys:
            by_asset = velocity.totals_of(next(found))
            for reservation in self._unwritten:
                if _counted(key, reservation):
                    _add(by_asset, reservation)
            self._counts[key] = by_asset

    def registered_from(self, rows: Sequence[tuple[Any, ...]]) -> set[tuple[str, ...]]:
        """The registered combinations, from the rows of ``velocity.registered_query`` read in this transaction."""
        self._registered = velocity.registered_from(rows)
        return self._registered

    def register(self, db: Connection, per: tuple[str, ...], *, now_us: int) -> None:
        """Make sure the buckets of ``per`` are kept (filled from the reservations in the database; those not yet
        written are added by :meth:`write`, like every other)."""
        velocity.ensure_registered(db, per, self._known(db), now_us=now_us)

    def reserved(self, reservation: dict[str, Any]) -> None:
        """A reservation this transaction will write at its end: counted from now on. The caller's last step:
        nothing may fail after it (nothing here is undone)."""
        self._unwritten.append(reservation)
        for key, by_asset in self._counts.items():
            if _counted(key, reservation):
                _add(by_asset, reservation)

    def changed(self, db: Connection, changes: list[tuple[Mapping[str, Any], int]]) -> None:
        """Reservations changed in the database: (reservation, +1 written / -1 deleted)."""
        velocity.apply_changes(db, changes, self._known(db))
        self._counts.clear()

    def ready(self, db: Connection) -> None:
        """Read what :meth:`write` needs (the registered combinations) now, before the writes that end the
        transaction, which on PostgreSQL go as one pipeline."""
        if self._unwritten:
            self._known(db)

    def write(self, db: Connection) -> None:
        """Add the reservations written at the end of the transaction to the buckets."""
        if self._unwritten:
            velocity.apply_changes(db, [(reservation, 1) for reservation in self._unwritten], self._known(db))
            self._unwritten.clear()

    def _known(self, db: Connection) -> set[tuple[str, ...]]:
        if self._registered is None:
            self._registered = velocity.registered(db)
        return self._registered


def _counted(key: _VelocityKey, reservation: Mapping[str, Any]) -> bool:
    per, values, since, until = key
    return since < reservation["reserved_us"] <= until and all(
        reservation[name] == value for name, value in zip(per, values, strict=True)
    )


def _add(by_asset: velocity.Totals, reservation: Mapping[str, Any], *, sign: int = 1) -> None:
    counted = by_asset.setdefault(reservation["asset"], [0, 0])
    counted[0] += sign
    counted[1] += sign * int(reservation["amount"])


_BALANCES = Prepared(select(Balance.asset, Balance.amount).where(Balance.wallet == bindparam("wallet")))
_BOOK = Prepared(
    select(AddressBookRow.label, AddressBookRow.effective_us, AddressBookRow.approved_by)
    .where(
        AddressBookRow.chain == bindparam("chain"),
        AddressBookRow.address == bindparam("address"),
        AddressBookRow.removed_us.is_(None),
    )
    .order_by(AddressBookRow.effective_us)
    .limit(1)
)
# Only approvals made with a key that is still active: a key is removed because it is lost or compromised, and
# what it signed no longer speaks for its owner.
_APPROVALS = (
    select(WithdrawalApproval.approver, WithdrawalApproval.at_us)
    .join(ApproverKey, (ApproverKey.key_id == WithdrawalApproval.key_id) & (ApproverKey.status == "active"))
    .where(
        WithdrawalApproval.request_id == bindparam("request_id"),
        WithdrawalApproval.signing_hash == bindparam("signing_hash"),
        WithdrawalApproval.policy_digest == bindparam("policy_digest"),
        WithdrawalApproval.policy_version == bindparam("policy_version"),
        WithdrawalApproval.expires_us > bindparam("now"),
    )
)


def _balances(db: Session | Connection, wallet: str) -> dict[tuple[str, str], int]:
    rows = _BALANCES.rows(_connection(db), {"wallet": wallet})
    return {(wallet, asset): int(amount) for asset, amount in rows}


def _address_book(db: Session | Connection, chain: str, address: str) -> dict[tuple[str, str], AddressBookEntry]:
    return _book_entry(chain, address, _BOOK.rows(_connection(db), {"chain": chain, "address": address}))


def _book_entry(chain: str, address: str, rows: list[tuple[Any, ...]]) -> dict[tuple[str, str], AddressBookEntry]:
    if not rows:
        return {}
    label, effective_us, approved_by = rows[0]
    entry = AddressBookEntry(
        chain=chain,
        address=address,
        label=label,
        added_at=from_us(effective_us),
        approved_by=tuple(orjson.loads(approved_by)),
    )
    return {(chain, address): entry}


def _screening(
    request: WithdrawalRequest, transaction: TransactionFacts | None, screen: Screen | None
) -> dict[str, tuple[ScreeningHit, ...]]:
    if screen is None:
        return {}
    found: dict[str, tuple[ScreeningHit, ...]] = {}
    for address in dict.fromkeys([request.destination, *(transaction.addresses if transaction else ())]):
        hits = screen(request.chain, address)
        if hits:
            found[address] = hits
    return found


def _approvals(
    db: Session | Connection,
    request_id: str,
    signing_hash: str | None,
    policy_digest: str,
    policy_version: int,
    *,
    now: datetime,
) -> tuple[Approval, ...]:
    """Approvals that still count: of this exact hash, under the active policy version, not expired."""
    if signing_hash is None:
        return ()
    parameters = {
        "request_id": request_id,
        "signing_hash": signing_hash,
        "policy_digest": policy_digest,
        "policy_version": policy_version,
        "now": to_us(now),
    }
    return tuple(Approval(approver, from_us(at)) for approver, at in db.execute(_APPROVALS, parameters))

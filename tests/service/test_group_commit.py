"""Group commit: several submissions in one transaction, each standing or failing on its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from mamori.demo import exchange as sample
from mamori.errors import MamoriError
from mamori.service.auth import Principal

LEDGER = Principal("k", "initiator", "ledger")


def hot(exchange: Any, request_id: str, amount: int = sample.ETHER) -> dict[str, Any]:
    return exchange.ledger.request(
        request_id,
        wallet=sample.HOT_WALLET,
        amount=amount,
        destination=sample.CUSTOMER,
        now=exchange.clock.now,
        transaction=sample.hot_transfer(sample.CUSTOMER, amount),
    )


def test_a_failing_submission_leaves_the_others_and_the_log_as_they_were(exchange: Any) -> None:
    exchange.report_balances()
    service = exchange.services.withdrawals
    first = hot(exchange, "wd-1")
    altered = hot(exchange, "wd-2")
    altered["amount"] = str(2 * sample.ETHER)  # changed after signing: refused, and the refusal logged
    reused = hot(exchange, "wd-1", amount=3 * sample.ETHER)  # another request under wd-1's id
    last = hot(exchange, "wd-3")
    now = exchange.clock.now
    with exchange.engine.connect() as connection:
        before = connection.execute(text("SELECT COUNT(*) FROM audit_entries")).scalar_one()
    items = [service.prepare(LEDGER, document, now=now) for document in (first, altered, reused, last)]
    results = service.submit_batch(items)
    assert [r["status"] if isinstance(r, dict) else r.code for r in results] == [
        "released",
        "REQUEST_NOT_AUTHENTIC",
        "REQUEST_ID_REUSED",
        "released",
    ]
    assert all(isinstance(r, dict | MamoriError) for r in results)
    with exchange.engine.connect() as connection:
        kinds = [k for (k,) in connection.execute(text("SELECT kind FROM audit_entries ORDER BY seq"))][before:]
        stored = dict(connection.execute(text("SELECT request_id, amount FROM guard_withdrawals")).all())
        releases = connection.execute(text("SELECT request_id FROM guard_releases ORDER BY id")).scalars().all()
    per_release = [
        "withdrawal.submitted",
        "withdrawal.transaction_attached",
        "withdrawal.decided",
        "withdrawal.released",
    ]
    assert kinds == [*per_release, "withdrawal.refused", *per_release]
    assert stored == {"wd-1": str(sample.ETHER), "wd-3": str(sample.ETHER)}
    assert releases == ["wd-1", "wd-3"]
    # Each result answers its own caller: the release of wd-3 names wd-3.
    assert results[3]["request_id"] == "wd-3" and results[3]["release"]["token"]


def test_submissions_in_one_batch_count_against_each_other_s_limits(exchange: Any) -> None:
    """The demo policy allows 5 hot withdrawals per 10 minutes: the 6th of one batch is denied."""
    exchange.report_balances()
    service = exchange.services.withdrawals
    items = [service.prepare(LEDGER, hot(exchange, f"wd-{i}"), now=exchange.clock.now) for i in range(7)]
    statuses = [r["status"] for r in service.submit_batch(items) if isinstance(r, dict)]
    assert statuses == ["released"] * 5 + ["denied"] * 2


def test_a_release_holds_the_limits_from_when_it_is_issued(exchange: Any) -> None:
    """A cold withdrawal approved 90 minutes after it was decided counts in the velocity windows from its release,
    not from its first decision: waiting for approvals must not let it slip out of a window before it is signed."""
    from sqlalchemy import text as sql

    from mamori.service.facts import to_us

    exchange.report_balances()
    amount = 100 * sample.ETHER
    document = exchange.ledger.request(
        "wd-cold",
        wallet=sample.COLD_WALLET,
        amount=amount,
        destination=sample.EXCHANGE_DEPOSIT,
        now=exchange.clock.now,
        transaction=sample.cold_transfer(sample.EXCHANGE_DEPOSIT, amount),
    )
    assert exchange.submit(document).json()["status"] == "pending_approval"
    decided = to_us(exchange.clock.now)

    def held_since() -> int:
        with exchange.engine.connect() as connection:
            return int(connection.execute(sql("SELECT reserved_us FROM guard_reservations")).scalar_one())

    assert held_since() == decided
    exchange.clock.advance(hours=1)
    assert exchange.approve("aiko", "wd-cold").json()["status"] == "pending_approval"
    assert held_since() == decided  # still waiting: the hold has not moved
    exchange.clock.advance(minutes=30)  # aiko's approval (valid for an hour) still counts
    assert exchange.approve("kenji", "wd-cold").json()["status"] == "released"
    assert held_since() == to_us(exchange.clock.now)

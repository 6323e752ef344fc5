"""The demo's story through the HTTP API, on SQLite or (in CI) PostgreSQL."""

from __future__ import annotations

from mamori.demo import exchange as sample


def test_a_routine_hot_withdrawal_is_released_at_once(exchange) -> None:
    exchange.report_balances()
    now = exchange.clock.now
    document = exchange.ledger.request(
        "wd-hot-1",
        wallet=sample.HOT_WALLET,
        amount=sample.ETHER,
        destination=sample.CUSTOMER,
        now=now,
        transaction=sample.hot_transfer(sample.CUSTOMER, sample.ETHER),
    )
    response = exchange.submit(document)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "released"
    assert body["decision"]["decision"] == "allow"
    assert body["release"]["signing_hash"] == body["signing_hash"]

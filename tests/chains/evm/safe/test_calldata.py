"""execTransaction call data, checked against eth-abi's canonical encoder."""

from __future__ import annotations

import random

import eth_abi

from mamori.chains.evm.abi import decode_args
from mamori.chains.evm.safe.calldata import EXEC_TRANSACTION_SELECTOR, exec_transaction_calldata
from mamori.chains.evm.safe.model import SafeTx
from support.references import EXEC_TYPES, exec_transaction_reference


def _random_tx(rng: random.Random) -> SafeTx:
    return SafeTx(
        safe=rng.randbytes(20),
        to=rng.randbytes(20),
        value=rng.choice([0, 1, 2**256 - 1, rng.getrandbits(256)]),
        data=rng.randbytes(rng.choice([0, 1, 4, 31, 32, 33, 68, rng.randrange(0, 2048)])),
        operation=rng.choice([0, 1, 2, 255]),
        safe_tx_gas=rng.choice([0, rng.getrandbits(256)]),
        base_gas=rng.choice([0, rng.getrandbits(256)]),
        gas_price=rng.choice([0, rng.getrandbits(256)]),
        gas_token=rng.choice([bytes(20), rng.randbytes(20)]),
        refund_receiver=rng.choice([bytes(20), rng.randbytes(20)]),
        nonce=rng.getrandbits(256),
    )


def test_selector() -> None:
    assert EXEC_TRANSACTION_SELECTOR.hex() == "6a761202"


def test_exec_transaction_calldata_matches_eth_abi() -> None:
    rng = random.Random(31)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(600):
        tx = _random_tx(rng)
        signatures = rng.randbytes(rng.choice([0, 65, 130, 195, 65 * 3 + 32 + 40, rng.randrange(0, 400)]))
        ours = exec_transaction_calldata(tx, signatures)
        assert ours == exec_transaction_reference(tx, signatures)
        assert len(ours) % 32 == 4


def test_exec_transaction_calldata_decodes_back() -> None:
    rng = random.Random(32)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(100):
        tx = _random_tx(rng)
        signatures = rng.randbytes(rng.randrange(0, 300))
        blob = exec_transaction_calldata(tx, signatures)
        values = eth_abi.decode(EXEC_TYPES, blob[4:])
        assert values[2] == tx.data
        assert values[9] == signatures
        ours = decode_args("execTransaction", tuple(EXEC_TYPES), blob[4:])
        assert ours.canonical is True
        assert ours.values == (
            tx.to,
            tx.value,
            tx.data,
            tx.operation,
            tx.safe_tx_gas,
            tx.base_gas,
            tx.gas_price,
            tx.gas_token,
            tx.refund_receiver,
            signatures,
        )

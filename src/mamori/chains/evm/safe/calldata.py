"""The ``execTransaction`` call data that executes a signed Safe transaction on chain."""

from __future__ import annotations

from mamori.chains.evm.crypto import keccak256
from mamori.chains.evm.safe.model import SafeTx

EXEC_TRANSACTION_SELECTOR = keccak256(
    b"execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"
)[:4]
_PAD12 = bytes(12)


def _dynamic_bytes(value: bytes) -> bytes:
    padding = -len(value) % 32
    return len(value).to_bytes(32, "big") + value + bytes(padding)


def exec_transaction_calldata(tx: SafeTx, signatures: bytes) -> bytes:
    """ABI-encode execTransaction(to, value, data, operation, safeTxGas, baseGas, gasPrice, gasToken,
    refundReceiver, signatures) in canonical form."""
    data_tail = _dynamic_bytes(tx.data)
    head_size = 32 * 10
    return b"".join(
        (
            EXEC_TRANSACTION_SELECTOR,
            _PAD12 + tx.to,
            tx.value.to_bytes(32, "big"),
            head_size.to_bytes(32, "big"),
            tx.operation.to_bytes(32, "big"),
            tx.safe_tx_gas.to_bytes(32, "big"),
            tx.base_gas.to_bytes(32, "big"),
            tx.gas_price.to_bytes(32, "big"),
            _PAD12 + tx.gas_token,
            _PAD12 + tx.refund_receiver,
            (head_size + len(data_tail)).to_bytes(32, "big"),
            data_tail,
            _dynamic_bytes(signatures),
        )
    )

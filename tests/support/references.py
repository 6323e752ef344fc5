"""Independent reference computations shared by the tests (the libraries we test against, never mamori)."""

from __future__ import annotations

import eth_abi
from eth_hash.auto import keccak

from mamori.chains.evm.safe.model import SafeTx

EXEC_SIGNATURE = "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"
EXEC_TYPES = ["address", "uint256", "bytes", "uint8", "uint256", "uint256", "uint256", "address", "address", "bytes"]


def exec_transaction_reference(tx: SafeTx, signatures: bytes) -> bytes:
    """execTransaction call data for ``tx`` as eth-abi encodes it."""
    arguments = [
        tx.to, tx.value, tx.data, tx.operation, tx.safe_tx_gas, tx.base_gas, tx.gas_price, tx.gas_token,
        tx.refund_receiver, signatures,
    ]  # fmt: skip
    return keccak(EXEC_SIGNATURE.encode())[:4] + eth_abi.encode(EXEC_TYPES, arguments)

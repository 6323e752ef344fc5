"""The Safe transaction as the contract hashes it, parsed once at the edge into a frozen value."""

from __future__ import annotations

from typing import NamedTuple


class SafeTx(NamedTuple):
    """The ten SafeTx fields plus the Safe it belongs to. Addresses are 20 raw bytes.

    ``operation`` is kept as given (0..255, the uint8 the contract hashes) so that an invalid operation can be
    reported as a finding instead of being silently coerced.
    """

    safe: bytes
    to: bytes
    value: int
    data: bytes
    operation: int
    safe_tx_gas: int
    base_gas: int
    gas_price: int
    gas_token: bytes
    refund_receiver: bytes
    nonce: int


class SafeTxHashes(NamedTuple):
    domain_hash: bytes
    message_hash: bytes
    safe_tx_hash: bytes
    eth_sign_digest: bytes

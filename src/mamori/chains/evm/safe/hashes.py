"""EIP-712 hashes of a Safe transaction for every Safe version, computed from the raw fields.

safeTxHash = keccak256(0x19 0x01 ‖ domainSeparator ‖ keccak256(SafeTx struct)); the eth_sign digest is what an
owner signing with ``eth_sign`` (v = 31/32) actually signs:
keccak256("\\x19Ethereum Signed Message:\\n32" ‖ safeTxHash).
"""

from __future__ import annotations

from functools import lru_cache

from sha3 import keccak_256

from mamori.chains.evm.crypto import keccak256
from mamori.chains.evm.safe.model import SafeTx, SafeTxHashes
from mamori.chains.evm.safe.versions import SafeVersion

DOMAIN_TYPEHASH_WITHOUT_CHAIN_ID = keccak256(b"EIP712Domain(address verifyingContract)")
DOMAIN_TYPEHASH_WITH_CHAIN_ID = keccak256(b"EIP712Domain(uint256 chainId,address verifyingContract)")
SAFE_TX_TYPEHASH = keccak256(
    b"SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,"
    b"uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)"
)
SAFE_TX_TYPEHASH_DATA_GAS = keccak256(
    b"SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 dataGas,"
    b"uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)"
)
ETH_SIGN_PREFIX = b"\x19Ethereum Signed Message:\n32"
_PAD12 = bytes(12)
_EMPTY_DATA_HASH = keccak256(b"")


@lru_cache(maxsize=4096)
def domain_separator(safe: bytes, chain_id: int, with_chain_id: bool) -> bytes:
    if with_chain_id:
        return keccak256(DOMAIN_TYPEHASH_WITH_CHAIN_ID + chain_id.to_bytes(32, "big") + _PAD12 + safe)
    return keccak256(DOMAIN_TYPEHASH_WITHOUT_CHAIN_ID + _PAD12 + safe)


def safe_tx_struct_hash(tx: SafeTx, version: SafeVersion) -> bytes:
    typehash = SAFE_TX_TYPEHASH_DATA_GAS if version.uses_data_gas else SAFE_TX_TYPEHASH
    return keccak256(_struct_encoding(tx, typehash))


def _struct_encoding(tx: SafeTx, typehash: bytes) -> bytes:
    # One join over the eleven 32-byte words; this runs once per transaction on the batch hot path.
    return b"".join(
        (
            typehash,
            _PAD12,
            tx.to,
            tx.value.to_bytes(32, "big"),
            keccak_256(tx.data).digest() if tx.data else _EMPTY_DATA_HASH,
            tx.operation.to_bytes(32, "big"),
            tx.safe_tx_gas.to_bytes(32, "big"),
            tx.base_gas.to_bytes(32, "big"),
            tx.gas_price.to_bytes(32, "big"),
            _PAD12,
            tx.gas_token,
            _PAD12,
            tx.refund_receiver,
            tx.nonce.to_bytes(32, "big"),
        )
    )


def safe_tx_hashes(tx: SafeTx, version: SafeVersion, chain_id: int) -> SafeTxHashes:
    domain = domain_separator(tx.safe, chain_id, version.domain_has_chain_id)
    typehash = SAFE_TX_TYPEHASH_DATA_GAS if version.uses_data_gas else SAFE_TX_TYPEHASH
    message = keccak_256(_struct_encoding(tx, typehash)).digest()
    safe_tx_hash = keccak_256(b"\x19\x01" + domain + message).digest()
    return SafeTxHashes(domain, message, safe_tx_hash, keccak_256(ETH_SIGN_PREFIX + safe_tx_hash).digest())


def eth_sign_digest(message_hash: bytes) -> bytes:
    return keccak256(ETH_SIGN_PREFIX + message_hash)

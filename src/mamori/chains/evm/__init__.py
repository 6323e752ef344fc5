"""Ethereum and EVM chains: hex and address encoding, keccak, secp256k1 recovery, RLP, ABI, transactions, Safe."""

"""Safe (formerly Gnosis Safe) multisig: versions, EIP-712 hashes, signatures, calldata."""

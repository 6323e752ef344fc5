"""mamori against safe-eth-py (Safe's own Python library), eth-account and eth-abi on generated transactions.

Seeded ``random.Random`` rather than hypothesis, for speed: 10,000+ transactions across every supported Safe
version and several chains, then a few hundred signed by generated keys in every signature scheme. The whole
file runs in well under a minute on two cores (measured ~10 s; see the report printed with ``-s``).
"""

from __future__ import annotations

import random
import time
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from safe_eth.eth.contracts import get_safe_contract
from safe_eth.safe.safe_tx import SafeTx as PeerSafeTx
from web3 import Web3

from mamori.chains.evm.safe.calldata import exec_transaction_calldata
from mamori.chains.evm.safe.hashes import safe_tx_hashes
from mamori.chains.evm.safe.model import SafeTx
from mamori.chains.evm.safe.record import parse_safe_tx_record
from mamori.chains.evm.safe.signatures import (
    APPROVED_HASH,
    CONTRACT,
    EOA,
    ETH_SIGN,
    SafeSignature,
    pack_signatures,
    recover_signer,
    split_signatures,
)
from mamori.chains.evm.safe.versions import SUPPORTED_VERSIONS, parse_safe_version
from mamori.verify.context import SafeContext
from mamori.verify.registry import ContractRegistry
from mamori.verify.safe import verify_safe_tx
from support.references import exec_transaction_reference

HASH_TXS = 10_080  # a multiple of len(SUPPORTED_VERSIONS) x len(CHAIN_IDS)
SIGNED_TXS = 300
FIXED_CHAIN_IDS = (1, 10, 137, 8453, 11155111)
UINT256_MAX = 2**256 - 1


def _big_chain_id(rng: random.Random) -> int:
    return rng.choice([rng.randrange(2**32, 2**64), rng.randrange(2**64, 2**256)])


def _uint(rng: random.Random) -> int:
    return rng.choice([0, 0, 1, UINT256_MAX, rng.getrandbits(256), rng.getrandbits(64), rng.getrandbits(16)])


def _address(rng: random.Random) -> bytes:
    return rng.choice([bytes(20), rng.randbytes(20), rng.randbytes(20), rng.randbytes(20)])


def _data(rng: random.Random) -> bytes:
    size = rng.choice([0, 0, 1, 4, 31, 32, 33, 36, 68, rng.randrange(0, 200), rng.randrange(200, 2049)])
    return rng.randbytes(size)


def random_tx(rng: random.Random) -> SafeTx:
    return SafeTx(
        safe=rng.randbytes(20),
        to=_address(rng),
        value=_uint(rng),
        data=_data(rng),
        operation=rng.choice([0, 1, 0, 1, 0, 1, 2]),
        safe_tx_gas=_uint(rng),
        base_gas=_uint(rng),
        gas_price=_uint(rng),
        gas_token=_address(rng),
        refund_receiver=_address(rng),
        nonce=rng.choice([0, 1, rng.getrandbits(32), rng.getrandbits(256)]),
    )


def peer_tx(tx: SafeTx, version: str, chain_id: int, signatures: bytes = b"") -> PeerSafeTx:
    return PeerSafeTx(
        None,
        to_checksum_address(tx.safe),
        to_checksum_address(tx.to),
        tx.value,
        tx.data,
        tx.operation,
        tx.safe_tx_gas,
        tx.base_gas,
        tx.gas_price,
        to_checksum_address(tx.gas_token),
        to_checksum_address(tx.refund_receiver),
        signatures=signatures or None,
        safe_nonce=tx.nonce,
        safe_version=version,
        chain_id=chain_id,
    )


# --- safeTxHash ----------------------------------------------------------------------------------------


def test_safe_tx_hashes_match_safe_eth_py_on_10k_transactions() -> None:
    rng = random.Random(0x5AFE)  # noqa: S311 - reproducible test data, not secrets
    started = time.perf_counter()
    seen: set[tuple[str, int]] = set()
    mismatches: list[str] = []
    for index in range(HASH_TXS):
        tx = random_tx(rng)
        version_text = SUPPORTED_VERSIONS[index % len(SUPPORTED_VERSIONS)]
        slot = (index // len(SUPPORTED_VERSIONS)) % (len(FIXED_CHAIN_IDS) + 1)
        chain_id = FIXED_CHAIN_IDS[slot] if slot < len(FIXED_CHAIN_IDS) else _big_chain_id(rng)
        seen.add((version_text, chain_id if slot < len(FIXED_CHAIN_IDS) else -1))

        ours = safe_tx_hashes(tx, parse_safe_version(version_text), chain_id)
        peer = peer_tx(tx, version_text, chain_id)
        preimage = bytes(peer.safe_tx_hash_preimage)
        if (
            bytes(peer.safe_tx_hash) != ours.safe_tx_hash
            or preimage[:2] != b"\x19\x01"
            or preimage[2:34] != ours.domain_hash
            or preimage[34:66] != ours.message_hash
        ):
            mismatches.append(f"#{index} v{version_text} chain {chain_id}: {tx!r}")
    elapsed = time.perf_counter() - started
    print(f"\n{HASH_TXS} safeTxHash comparisons with safe-eth-py in {elapsed:.1f} s")  # noqa: T201 - the runtime report
    assert mismatches == []
    # Every version met every fixed chain and the random large chain ids.
    assert len(seen) == len(SUPPORTED_VERSIONS) * (len(FIXED_CHAIN_IDS) + 1)


def test_edge_values_match_safe_eth_py() -> None:
    safe = bytes.fromhex("1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4")
    edge_txs = [
        SafeTx(safe, bytes(20), 0, b"", 0, 0, 0, 0, bytes(20), bytes(20), 0),
        SafeTx(
            safe,
            b"\xff" * 20,
            UINT256_MAX,
            b"\xff" * 2048,
            1,
            UINT256_MAX,
            UINT256_MAX,
            UINT256_MAX,
            b"\xff" * 20,
            b"\xff" * 20,
            UINT256_MAX,
        ),
        SafeTx(safe, safe, 0, b"\x00", 0, 0, 0, 0, bytes(20), bytes(20), 2**255),
    ]
    for tx in edge_txs:
        for version in SUPPORTED_VERSIONS:
            for chain_id in (*FIXED_CHAIN_IDS, UINT256_MAX):
                ours = safe_tx_hashes(tx, parse_safe_version(version), chain_id).safe_tx_hash
                assert ours == bytes(peer_tx(tx, version, chain_id).safe_tx_hash), (version, chain_id)


# --- signatures ----------------------------------------------------------------------------------------------

KEYS = [Account.from_key(keccak(f"differential owner {i}".encode())) for i in range(12)]


def _owner(account: Any) -> bytes:
    return bytes.fromhex(account.address[2:])


def _sign(rng: random.Random, account: Any, safe_tx_hash: bytes) -> SafeSignature:
    if rng.random() < 0.5:
        signed = Account.unsafe_sign_hash(safe_tx_hash, account.key)
        return SafeSignature(EOA, signed.v, signed.r, signed.s)
    signed = Account.sign_message(encode_defunct(primitive=safe_tx_hash), account.key)
    return SafeSignature(ETH_SIGN, signed.v + 4, signed.r, signed.s)


def _eth_account_signer(item: SafeSignature, safe_tx_hash: bytes) -> bytes:
    vrs_signature = item.r.to_bytes(32, "big") + item.s.to_bytes(32, "big")
    if item.kind == EOA:
        address = Account._recover_hash(safe_tx_hash, signature=vrs_signature + bytes((item.v,)))
    else:
        address = Account.recover_message(
            encode_defunct(primitive=safe_tx_hash), signature=vrs_signature + bytes((item.v - 4,))
        )
    return bytes.fromhex(address[2:])


def test_signers_match_safe_eth_py_and_eth_account() -> None:
    rng = random.Random(0xB1B1)  # noqa: S311 - reproducible test data, not secrets
    web3 = Web3()
    started = time.perf_counter()
    kinds_seen: set[str] = set()
    for index in range(SIGNED_TXS):
        tx = random_tx(rng)
        version = SUPPORTED_VERSIONS[index % len(SUPPORTED_VERSIONS)]
        chain_id = rng.choice([*FIXED_CHAIN_IDS, _big_chain_id(rng)])
        hashes = safe_tx_hashes(tx, parse_safe_version(version), chain_id)

        signers = rng.sample(KEYS, rng.randrange(1, 5))
        items: list[tuple[bytes, SafeSignature]] = [
            (_owner(account), _sign(rng, account, hashes.safe_tx_hash)) for account in signers
        ]
        if rng.random() < 0.3:
            approver = rng.randbytes(20)
            items.append((approver, SafeSignature(APPROVED_HASH, 1, int.from_bytes(approver, "big"), 0)))
        if rng.random() < 0.3:
            contract_owner = rng.randbytes(20)
            items.append(
                (
                    contract_owner,
                    SafeSignature(
                        CONTRACT, 0, int.from_bytes(contract_owner, "big"), 0, rng.randbytes(rng.randrange(0, 130))
                    ),
                )
            )
        items.sort(key=lambda pair: pair[0])
        expected_owners = [owner for owner, _ in items]
        packed = pack_signatures([item for _, item in items])

        # mamori
        split = split_signatures(packed)
        ours = [
            recover_signer(item, hashes.safe_tx_hash, hashes.eth_sign_digest)
            if item.kind in (EOA, ETH_SIGN)
            else item.owner_in_r
            for item in split
        ]
        kinds_seen.update(item.kind for item in split)
        assert ours == expected_owners

        # eth-account, per signature
        for item, owner in zip(split, expected_owners, strict=True):
            if item.kind in (EOA, ETH_SIGN):
                assert _eth_account_signer(item, hashes.safe_tx_hash) == owner

        # safe-eth-py parses the same packed bytes into the same owners
        peer = peer_tx(tx, version, chain_id, packed)
        assert bytes(peer.safe_tx_hash) == hashes.safe_tx_hash
        assert [bytes.fromhex(address[2:]) for address in peer.signers] == expected_owners

        # and the whole verifier, told who the owners are, finds every ECDSA signature valid and in order
        record = _record(tx, packed)
        owners = frozenset(expected_owners)
        report = verify_safe_tx(
            parse_safe_tx_record(record),
            SafeContext(chain_id=chain_id, version=parse_safe_version(version), owners=owners),
            ContractRegistry.from_document({"contracts": []}),
        )
        assert [check.recovered for check in report.signatures] == expected_owners
        for check in report.signatures:
            assert check.valid is (None if check.kind in (APPROVED_HASH, CONTRACT) else True)
        found = {item.code for item in report.findings}
        assert not found & {"SIGNATURE_ORDER", "SIGNATURE_MISMATCH", "SIGNATURE_MALFORMED", "HASH_MISMATCH"}

        # execTransaction call data: ours == eth-abi == the Safe ABI shipped with safe-eth-py (via web3)
        calldata = exec_transaction_calldata(tx, packed)
        assert report.exec_calldata == calldata
        assert calldata == _eth_abi_exec(tx, packed)
        if index % 3 == 0:  # web3's encoder is the slow one
            assert calldata == _web3_exec(web3, tx, packed)
    elapsed = time.perf_counter() - started
    print(f"\n{SIGNED_TXS} signed transactions compared in {elapsed:.1f} s")  # noqa: T201 - the runtime report
    assert kinds_seen == {EOA, ETH_SIGN, APPROVED_HASH, CONTRACT}


def _record(tx: SafeTx, packed: bytes) -> dict[str, Any]:
    return {
        "safe": to_checksum_address(tx.safe),
        "to": to_checksum_address(tx.to),
        "value": str(tx.value),
        "data": "0x" + tx.data.hex(),
        "operation": tx.operation,
        "safeTxGas": str(tx.safe_tx_gas),
        "baseGas": str(tx.base_gas),
        "gasPrice": str(tx.gas_price),
        "gasToken": to_checksum_address(tx.gas_token),
        "refundReceiver": to_checksum_address(tx.refund_receiver),
        "nonce": str(tx.nonce),
        "signatures": "0x" + packed.hex(),
    }


def _exec_args(tx: SafeTx, packed: bytes) -> list[Any]:
    return [
        to_checksum_address(tx.to),
        tx.value,
        tx.data,
        tx.operation,
        tx.safe_tx_gas,
        tx.base_gas,
        tx.gas_price,
        to_checksum_address(tx.gas_token),
        to_checksum_address(tx.refund_receiver),
        packed,
    ]


def _eth_abi_exec(tx: SafeTx, packed: bytes) -> bytes:
    return exec_transaction_reference(tx, packed)


def _web3_exec(web3: Web3, tx: SafeTx, packed: bytes) -> bytes:
    contract = get_safe_contract(web3, address=to_checksum_address(tx.safe))
    encoded: str = contract.encode_abi("execTransaction", args=_exec_args(tx, packed))
    return bytes.fromhex(encoded.removeprefix("0x"))

"""EIP-712 hashes of Safe transactions: the Bybit facts, the per-version rules, published vectors, and an
independent eth-abi re-derivation of every hash component."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import eth_abi
import pytest
from eth_account.messages import _hash_eip191_message, encode_defunct
from eth_hash.auto import keccak

from mamori.chains.evm.safe.hashes import (
    DOMAIN_TYPEHASH_WITH_CHAIN_ID,
    DOMAIN_TYPEHASH_WITHOUT_CHAIN_ID,
    SAFE_TX_TYPEHASH,
    SAFE_TX_TYPEHASH_DATA_GAS,
    domain_separator,
    eth_sign_digest,
    safe_tx_hashes,
    safe_tx_struct_hash,
)
from mamori.chains.evm.safe.model import SafeTx
from mamori.chains.evm.safe.versions import SUPPORTED_VERSIONS, parse_safe_version
from mamori.errors import ContextError

REPO = Path(__file__).resolve().parents[4]
SHARED_BYBIT = REPO / ".." / "shared" / "data" / "safe" / "bybit-safe-tx-71.json"
SAMPLE_BYBIT = REPO / "src" / "mamori" / "content" / "samples" / "bybit-safe-tx-71.json"
VECTORS = REPO / "tests" / "vectors" / "safe" / "published_vectors.json"

BYBIT_SAFE = bytes.fromhex("1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4")
_FIELDS = (
    "safe",
    "to",
    "value",
    "data",
    "operation",
    "safe_tx_gas",
    "base_gas",
    "gas_price",
    "gas_token",
    "refund_receiver",
    "nonce",
)


def _with(tx: SafeTx, **changes: Any) -> SafeTx:
    fields = {name: getattr(tx, name) for name in _FIELDS}
    fields.update(changes)
    return SafeTx(**fields)


# results[0]: the transaction that was signed and executed (DELEGATECALL to the attacker's contract).
BYBIT_EXECUTED = SafeTx(
    safe=BYBIT_SAFE,
    to=bytes.fromhex("96221423681A6d52E184D440a8eFCEbB105C7242"),
    value=0,
    data=bytes.fromhex(
        "a9059cbb000000000000000000000000bdd077f651ebe7f7b3ce16fe5f2b025be2969516"
        "0000000000000000000000000000000000000000000000000000000000000000"
    ),
    operation=1,
    safe_tx_gas=45746,
    base_gas=0,
    gas_price=0,
    gas_token=bytes(20),
    refund_receiver=bytes(20),
    nonce=71,
)
# results[1]: what the signers were shown (30,000 ETH to Bybit's warm wallet).
BYBIT_SHOWN = _with(
    BYBIT_EXECUTED,
    to=bytes.fromhex("88a1493366D48225fc3cEFbdae9eBb23E323Ade3"),
    value=30_000 * 10**18,
    data=b"",
    operation=0,
    safe_tx_gas=45745,
)


def _h(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def _bybit_document() -> dict[str, Any]:
    path = SHARED_BYBIT if SHARED_BYBIT.exists() else SAMPLE_BYBIT
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


# --- constants ------------------------------------------------------------------------------------------


def test_typehashes_are_the_constants_in_the_safe_contracts() -> None:
    # As written in GnosisSafe.sol / Safe.sol (DOMAIN_SEPARATOR_TYPEHASH, SAFE_TX_TYPEHASH) of each release.
    assert _h("035aff83d86937d35b32e04f0ddc6ff469290eef2f1b692d8a815c89404d4749") == DOMAIN_TYPEHASH_WITHOUT_CHAIN_ID
    assert _h("47e79534a245952e8b16893a336b85a3d9ea9fa8c573f3d803afb92a79469218") == DOMAIN_TYPEHASH_WITH_CHAIN_ID
    assert _h("bb8310d486368db6bd6f849402fdd73ad53d316b5a4b2644ad6efe0f941286d8") == SAFE_TX_TYPEHASH
    assert _h("14d461bc7412367e924637b363c7bf29b8f47e2f84869f4426e5633d8af47b20") == SAFE_TX_TYPEHASH_DATA_GAS


# --- Bybit -------------------------------------------------------------------------------------------------


def test_bybit_executed_transaction_hashes_with_safe_1_1_1_rules() -> None:
    hashes = safe_tx_hashes(BYBIT_EXECUTED, parse_safe_version("1.1.1"), 1)
    assert hashes.domain_hash == _h("b3ded2bdbff5db1a87f6d551fa256e9f2bd6517a3bb84f4c2ea863fb3a559622")
    assert hashes.message_hash == _h("ea68fc75e93bf7286b1257680ca8e2033bfadd8e1cb8a23f3ca18f1031ecf1e0")
    assert hashes.safe_tx_hash == _h("b3476d061aeb8fc1d605a873c483a2402d88a68a9cdd1a8b47655dd55ba004f8")
    assert hashes.eth_sign_digest == keccak(b"\x19Ethereum Signed Message:\n32" + hashes.safe_tx_hash)


def test_bybit_hash_with_1_3_0_rules_is_the_wrong_value() -> None:
    hashes = safe_tx_hashes(BYBIT_EXECUTED, parse_safe_version("1.3.0"), 1)
    assert hashes.safe_tx_hash == _h("00816067f634281378513f1457cf38371f6085a15e35cbca0062011abb05e18e")
    # Only the domain differs: the SafeTx struct is hashed the same way from 1.0.0 on.
    assert hashes.message_hash == _h("ea68fc75e93bf7286b1257680ca8e2033bfadd8e1cb8a23f3ca18f1031ecf1e0")


def test_bybit_displayed_transaction_hash() -> None:
    hashes = safe_tx_hashes(BYBIT_SHOWN, parse_safe_version("1.1.1"), 1)
    assert hashes.safe_tx_hash == _h("9d89e67333f99c136537be74029c44592985a4855172f4c2d0d942029868f98e")
    assert hashes.domain_hash == _h("b3ded2bdbff5db1a87f6d551fa256e9f2bd6517a3bb84f4c2ea863fb3a559622")


def test_bybit_constants_here_match_the_data_file() -> None:
    records = _bybit_document()["results"]
    assert records[0]["safeTxHash"] == "0xb3476d061aeb8fc1d605a873c483a2402d88a68a9cdd1a8b47655dd55ba004f8"
    assert _h(records[0]["data"]) == BYBIT_EXECUTED.data
    assert (records[0]["operation"], records[0]["safeTxGas"], records[0]["nonce"]) == (1, 45746, 71)
    assert records[1]["safeTxHash"] == "0x9d89e67333f99c136537be74029c44592985a4855172f4c2d0d942029868f98e"
    assert int(records[1]["value"]) == BYBIT_SHOWN.value


# --- version rules -----------------------------------------------------------------------------------------


def _random_tx(rng: random.Random) -> SafeTx:
    return SafeTx(
        safe=rng.randbytes(20),
        to=rng.randbytes(20),
        value=rng.getrandbits(256),
        data=rng.randbytes(rng.randrange(0, 300)),
        operation=rng.randrange(2),
        safe_tx_gas=rng.getrandbits(64),
        base_gas=rng.getrandbits(64),
        gas_price=rng.getrandbits(64),
        gas_token=rng.randbytes(20),
        refund_receiver=rng.randbytes(20),
        nonce=rng.getrandbits(32),
    )


@pytest.mark.parametrize("version_text", SUPPORTED_VERSIONS)
def test_chain_id_is_in_the_domain_only_from_1_3_0(version_text: str) -> None:
    version = parse_safe_version(version_text)
    tx = _random_tx(random.Random(version_text))  # noqa: S311 - reproducible test data, not secrets
    on_mainnet = safe_tx_hashes(tx, version, 1).safe_tx_hash
    on_other = safe_tx_hashes(tx, version, 137).safe_tx_hash
    expects_chain_id = version_text not in ("0.1.0", "1.0.0", "1.1.0", "1.1.1", "1.2.0")
    assert version.domain_has_chain_id is expects_chain_id
    assert (on_mainnet != on_other) is expects_chain_id


def test_versions_group_into_three_hashing_rules() -> None:
    rng = random.Random(3)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(20):
        tx = _random_tx(rng)
        by_version = {v: safe_tx_hashes(tx, parse_safe_version(v), 10).safe_tx_hash for v in SUPPORTED_VERSIONS}
        groups = {frozenset(v for v in SUPPORTED_VERSIONS if by_version[v] == h) for h in by_version.values()}
        assert groups == {
            frozenset({"0.1.0"}),
            frozenset({"1.0.0", "1.1.0", "1.1.1", "1.2.0"}),
            frozenset({"1.3.0", "1.4.0", "1.4.1", "1.5.0"}),
        }


def test_data_gas_typehash_only_before_1_0_0() -> None:
    assert parse_safe_version("0.1.0").uses_data_gas
    assert not any(parse_safe_version(v).uses_data_gas for v in SUPPORTED_VERSIONS if v != "0.1.0")


def test_every_field_changes_the_hash() -> None:
    tx = _random_tx(random.Random(4))  # noqa: S311 - reproducible test data, not secrets
    version = parse_safe_version("1.4.1")
    base = safe_tx_hashes(tx, version, 1).safe_tx_hash
    variants = {
        "safe": _with(tx, safe=bytes(20)),
        "to": _with(tx, to=bytes(20)),
        "value": _with(tx, value=tx.value ^ 1),
        "data": _with(tx, data=tx.data + b"\x00"),
        "operation": _with(tx, operation=1 - tx.operation),
        "safe_tx_gas": _with(tx, safe_tx_gas=tx.safe_tx_gas + 1),
        "base_gas": _with(tx, base_gas=tx.base_gas + 1),
        "gas_price": _with(tx, gas_price=tx.gas_price + 1),
        "gas_token": _with(tx, gas_token=bytes(20)),
        "refund_receiver": _with(tx, refund_receiver=bytes(20)),
        "nonce": _with(tx, nonce=tx.nonce + 1),
    }
    for name, changed in variants.items():
        assert safe_tx_hashes(changed, version, 1).safe_tx_hash != base, name


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.3.0", "1.3.0"), ("v1.4.1", "1.4.1"), ("1.3.0+L2", "1.3.0"), (" 1.1.1 ", "1.1.1"), ("V1.5.0", "1.5.0")],
)
def test_parse_safe_version_accepts_api_forms(text: str, expected: str) -> None:
    assert parse_safe_version(text).text == expected


@pytest.mark.parametrize("value", ["1.3", "2.0.0", "1.3.1", "", "latest", None, 1.3, 130, ["1.3.0"]])
def test_parse_safe_version_rejects_unknown_versions(value: object) -> None:
    with pytest.raises(ContextError) as info:
        parse_safe_version(value)
    assert info.value.code == "SAFE_VERSION_UNSUPPORTED"


# --- independent re-derivation with eth-abi -----------------------------------------------------------


def _reference_hashes(tx: SafeTx, version_text: str, chain_id: int) -> tuple[bytes, bytes, bytes]:
    version = parse_safe_version(version_text)
    if version.domain_has_chain_id:
        domain_type = b"EIP712Domain(uint256 chainId,address verifyingContract)"
        domain = keccak(eth_abi.encode(["bytes32", "uint256", "address"], [keccak(domain_type), chain_id, tx.safe]))
    else:
        domain_type = b"EIP712Domain(address verifyingContract)"
        domain = keccak(eth_abi.encode(["bytes32", "address"], [keccak(domain_type), tx.safe]))
    gas_name = b"dataGas" if version_text == "0.1.0" else b"baseGas"
    type_string = (
        b"SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 " + gas_name + b","
        b"uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)"
    )
    message = keccak(
        eth_abi.encode(
            [
                *("bytes32", "address", "uint256", "bytes32", "uint8"),
                *("uint256",) * 3,
                "address",
                "address",
                "uint256",
            ],
            [
                keccak(type_string),
                tx.to,
                tx.value,
                keccak(tx.data),
                tx.operation,
                tx.safe_tx_gas,
                tx.base_gas,
                tx.gas_price,
                tx.gas_token,
                tx.refund_receiver,
                tx.nonce,
            ],
        )
    )
    return domain, message, keccak(b"\x19\x01" + domain + message)


def test_hash_components_match_an_eth_abi_rederivation() -> None:
    rng = random.Random(5)  # noqa: S311 - reproducible test data, not secrets
    for index in range(300):
        tx = _random_tx(rng)
        version_text = SUPPORTED_VERSIONS[index % len(SUPPORTED_VERSIONS)]
        chain_id = rng.choice([1, 10, 137, 8453, 11155111, rng.getrandbits(64) + 1])
        hashes = safe_tx_hashes(tx, parse_safe_version(version_text), chain_id)
        domain, message, safe_tx_hash = _reference_hashes(tx, version_text, chain_id)
        assert hashes.domain_hash == domain
        assert hashes.message_hash == message
        assert hashes.safe_tx_hash == safe_tx_hash
        version = parse_safe_version(version_text)
        assert domain_separator(tx.safe, chain_id, version.domain_has_chain_id) == domain
        assert safe_tx_struct_hash(tx, version) == message


def test_eth_sign_digest_matches_eth_account_defunct_message() -> None:
    rng = random.Random(6)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(50):
        message_hash = rng.randbytes(32)
        expected = _hash_eip191_message(encode_defunct(primitive=message_hash))
        assert eth_sign_digest(message_hash) == expected


# --- published vectors (tests/vectors/safe/published_vectors.json) -------------------------------------


def _published_vectors() -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"]
    return vectors


@pytest.mark.parametrize("vector", _published_vectors(), ids=lambda v: str(v["id"]))
def test_published_vectors(vector: dict[str, Any]) -> None:
    tx = SafeTx(
        safe=_h(vector["safe"]),
        to=_h(vector["to"]),
        value=int(vector["value"]),
        data=_h(vector["data"]),
        operation=int(vector["operation"]),
        safe_tx_gas=int(vector["safe_tx_gas"]),
        base_gas=int(vector["base_gas"]),
        gas_price=int(vector["gas_price"]),
        gas_token=_h(vector["gas_token"]),
        refund_receiver=_h(vector["refund_receiver"]),
        nonce=int(vector["nonce"]),
    )
    chain_id = vector["chain_id"] if vector["chain_id"] is not None else 1
    hashes = safe_tx_hashes(tx, parse_safe_version(vector["safe_version"]), chain_id)
    assert hashes.safe_tx_hash == _h(vector["safe_tx_hash"])

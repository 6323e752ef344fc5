"""scriptPubKey <-> address: BIP-173/BIP-350 vectors, Bitcoin Core's key_io vectors on every network, scripts
that have no address, and hostile input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.chains.addresses import bech32_polymod
from mamori.chains.bitcoin.address import (
    ScriptKind,
    address_to_script,
    base58check_decode,
    base58check_encode,
    decode_address,
    describe_script,
    script_to_address,
    witness_script_pubkey,
)
from mamori.chains.bitcoin.networks import Network, parse_network
from mamori.errors import InputError, MamoriError

VECTORS = json.loads(
    (Path(__file__).parents[2] / "vectors/bitcoin/descriptors/address_vectors.json").read_text("utf-8")
)
CHAIN_NETWORK = {
    "main": Network.MAINNET,
    "testnet4": Network.TESTNET,
    "signet": Network.SIGNET,
    "regtest": Network.REGTEST,
}
CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _residue(text: str) -> int:
    lower = text.lower()
    hrp, data = lower[: lower.rfind("1")], lower[lower.rfind("1") + 1 :]
    expanded = bytes(ord(c) >> 5 for c in hrp) + b"\0" + bytes(ord(c) & 31 for c in hrp)
    return bech32_polymod(expanded + bytes(CHARSET.index(c) for c in data))


@pytest.mark.parametrize(("kind", "constant"), [("bech32", 1), ("bech32m", 0x2BC830A3)])
def test_the_shared_bech32_checksum_accepts_the_bip_strings(kind: str, constant: int) -> None:
    """The checksum is the screening module's ``bech32_polymod``: the BIPs' strings fix its constants."""
    for text in VECTORS["bech32_strings"][kind]:
        assert _residue(text) == constant, text


@pytest.mark.parametrize("vector", VECTORS["segwit_valid"], ids=lambda v: v["address"][:24])
def test_bip350_valid_addresses(vector: dict[str, Any]) -> None:
    decoded = decode_address(vector["address"])
    assert decoded.script_pubkey.hex() == vector["script_pubkey"]
    assert decoded.address == vector["address"].lower()
    network = decoded.networks[0]
    assert script_to_address(decoded.script_pubkey, network) == vector["address"].lower()
    assert address_to_script(vector["address"], network) == decoded.script_pubkey


@pytest.mark.parametrize("vector", VECTORS["bip173_valid"], ids=lambda v: v["address"][:24])
def test_bip173_addresses_are_valid_today_only_for_witness_v0(vector: dict[str, Any]) -> None:
    if vector["valid_today"]:
        assert decode_address(vector["address"]).script_pubkey.hex() == vector["script_pubkey"]
        return
    with pytest.raises(InputError) as exc:
        decode_address(vector["address"])
    assert exc.value.code == "BTC_ADDRESS_INVALID"
    assert "bech32m" in exc.value.details["reason"]


@pytest.mark.parametrize("vector", VECTORS["segwit_invalid"], ids=lambda v: f"{v['address'][:20]}-{v['reason']}")
def test_invalid_segwit_addresses_are_refused(vector: dict[str, Any]) -> None:
    with pytest.raises(InputError) as exc:
        decode_address(vector["address"])
    assert exc.value.code == "BTC_ADDRESS_INVALID"
    reason = exc.value.details["reason"]
    expected = {
        "Invalid human-readable part": "human-readable part",
        "Mixed case": "mixed upper and lower case",
        "Empty data section": "empty data part",
        "Invalid witness version": "witness version 17",
        "Invalid character in checksum": "bad bech32 data characters",
        "Invalid checksum": "checksum does not match",
    }
    for start, wanted in expected.items():
        if vector["reason"] == start:
            assert wanted in reason
    if "instead of" in vector["reason"]:
        assert "must use the bech32" in reason
    if "padding" in vector["reason"]:
        assert "padding" in reason
    if "program length" in vector["reason"]:
        assert "program of" in reason


@pytest.mark.parametrize("vector", VECTORS["core_valid"], ids=lambda v: f"{v['chain']}-{v['address'][:16]}")
def test_bitcoin_core_key_io_vectors_on_every_network(vector: dict[str, Any]) -> None:
    assert vector["provenance"]["repo"] == "bitcoin/bitcoin"
    network = CHAIN_NETWORK[vector["chain"]]
    script = address_to_script(vector["address"], network)
    assert script.hex() == vector["script_pubkey"]
    segwit = describe_script(script).witness_version is not None
    assert script_to_address(script, network) == (vector["address"].lower() if segwit else vector["address"])
    others = [n for n in Network if n.params != network.params]
    for other in others:
        if script_to_address(script, other) != script_to_address(script, network):
            with pytest.raises(InputError) as exc:
                address_to_script(vector["address"], other)
            assert exc.value.code == "BTC_ADDRESS_NETWORK_MISMATCH"


def test_testnet_signet_and_regtest_share_base58_but_not_bech32() -> None:
    p2pkh = address_to_script("mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ")
    assert {script_to_address(p2pkh, n) for n in (Network.TESTNET, Network.SIGNET, Network.REGTEST)} == {
        "mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ"
    }
    assert decode_address("mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ").networks == (
        Network.TESTNET,
        Network.SIGNET,
        Network.REGTEST,
    )
    assert decode_address("tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54").networks == (Network.TESTNET, Network.SIGNET)
    with pytest.raises(InputError) as exc:
        address_to_script("tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54", Network.REGTEST)
    assert exc.value.code == "BTC_ADDRESS_NETWORK_MISMATCH"
    with pytest.raises(InputError) as exc:
        address_to_script("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo", Network.TESTNET)
    assert exc.value.details == {
        "address": "1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo",
        "found": "mainnet",
        "expected": "testnet",
    }


def test_the_bip385_p2sh_address() -> None:
    vector = VECTORS["base58_known"][0]
    assert address_to_script(vector["address"], Network.MAINNET).hex() == vector["script_pubkey"]


@pytest.mark.parametrize(
    ("script", "kind"),
    [
        ("6a0b68656c6c6f20776f726c64", ScriptKind.NULL_DATA),  # OP_RETURN "hello world"
        ("6a", ScriptKind.NULL_DATA),
        # BIP-381 pk(03a34b…) and pk(04a34b…): P2PK
        ("2103a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bdac", ScriptKind.P2PK),
        (
            "4104a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd5b8dec5235a0fa8722476c7709c02559e3aa73aa"
            "03918ba2d492eea75abea235ac",
            ScriptKind.P2PK,
        ),
        # BIP-383 multi(1, compressed, uncompressed): bare multisig
        (
            "512103a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd4104a34b99f22c790c4e36b2b3c2c35a36db06"
            "226e41c692fc82b8b56ac1c540c5bd5b8dec5235a0fa8722476c7709c02559e3aa73aa03918ba2d492eea75abea23552ae",
            ScriptKind.MULTISIG,
        ),
        ("deadbeef", ScriptKind.NONSTANDARD),  # BIP-385 raw(deadbeef)
        ("", ScriptKind.NONSTANDARD),
        ("0019" + "00" * 25, ScriptKind.NONSTANDARD),  # witness v0 with a 25-byte program: not a witness output
        ("51024e73", ScriptKind.WITNESS_UNKNOWN),  # v1, 2 bytes (the pay-to-anchor output)
    ],
)
def test_scripts_without_an_address_are_described_not_addressed(script: str, kind: ScriptKind) -> None:
    info = describe_script(bytes.fromhex(script))
    assert info.kind is kind
    address = script_to_address(bytes.fromhex(script), Network.MAINNET)
    assert (address is not None) == kind.addressable


def test_describe_names_each_address_kind() -> None:
    kinds = {describe_script(bytes.fromhex(v["script_pubkey"])).kind for v in VECTORS["core_valid"]}
    assert kinds == {
        ScriptKind.P2PKH,
        ScriptKind.P2SH,
        ScriptKind.P2WPKH,
        ScriptKind.P2WSH,
        ScriptKind.P2TR,
        ScriptKind.WITNESS_UNKNOWN,
    }


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mp",  # last character changed: base58 checksum fails
        "1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2m0",  # '0' is not base58
        "0x52908400098527886E0F7030069857D2E4169EE7",  # an EVM address
        "LVg2kJoFNg45Nbpy53h7Fe1wKyeXVRhMH9",  # a Litecoin P2PKH: valid base58check, another chain's version
        " 1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo",  # surrounding space is not trimmed: an address is exact
        "bc1" + "q" * 100,
    ],
)
def test_other_text_is_not_a_bitcoin_address(text: str) -> None:
    with pytest.raises(InputError) as exc:
        decode_address(text)
    assert exc.value.code == "BTC_ADDRESS_INVALID"


def test_non_text_is_a_type_error() -> None:
    with pytest.raises(InputError) as exc:
        decode_address(b"1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo")  # type: ignore[arg-type]
    assert exc.value.code == "FIELD_TYPE_INVALID"


def test_base58check_keeps_leading_zero_bytes() -> None:
    payload = bytes(3) + b"\x01\x02"
    text = base58check_encode(payload)
    assert text.startswith("111")
    assert base58check_decode(text) == payload
    assert base58check_decode(text[:-1] + ("2" if text[-1] != "2" else "3")) is None


def test_network_names() -> None:
    assert parse_network("testnet4") is Network.TESTNET
    assert parse_network("Main") is Network.MAINNET
    with pytest.raises(InputError):
        parse_network("litecoin")


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=100), st.text(alphabet="bc1qpzry9x8gf2tvdw0s3jn54khce6mua7lBCQP", max_size=80)))
def test_arbitrary_text_raises_only_mamori_errors(text: str) -> None:
    try:
        decoded = decode_address(text)
    except MamoriError:
        return
    assert address_to_script(decoded.address) == decoded.script_pubkey


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=80))
def test_every_script_is_described_and_addresses_round_trip(script: bytes) -> None:
    info = describe_script(script)
    for network in Network:
        address = script_to_address(script, network)
        assert (address is not None) == info.kind.addressable
        if address is not None:
            assert address_to_script(address, network) == script


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 16), st.binary(min_size=2, max_size=40), st.sampled_from(list(Network)))
def test_witness_programs_round_trip(version: int, program: bytes, network: Network) -> None:
    if version == 0 and len(program) not in (20, 32):
        return
    script = witness_script_pubkey(version, program)
    address = script_to_address(script, network)
    assert address is not None
    assert decode_address(address).script_pubkey == script
    assert decode_address(address.upper()).script_pubkey == script

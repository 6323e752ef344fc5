"""BIP-32 extended public keys: the BIP's test vectors 1-5, SLIP-132 forms, paths, and hostile input."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.chains.bitcoin.address import (
    base58check_encode,
    p2pkh_script,
    p2sh_script,
    p2wpkh_script,
    script_to_address,
)
from mamori.chains.bitcoin.bip32 import (
    HARDENED,
    ExtendedPublicKey,
    ckd_pub,
    format_path,
    parse_extended_key,
    parse_path,
)
from mamori.chains.bitcoin.networks import Network
from mamori.chains.bitcoin.script import hash160
from mamori.errors import InputError, MamoriError

VECTORS = json.loads((Path(__file__).parents[2] / "vectors/bitcoin/descriptors/bip32_vectors.json").read_text("utf-8"))
CHAINS = VECTORS["chains"]


def _path(bip_path: str) -> tuple[int, ...]:
    """The BIP writes hardened steps with H (m/0H/1): read them as such."""
    return parse_path(bip_path.replace("H", "h"))


def _pairs() -> list[tuple[str, list[str], list[str]]]:
    pairs = []
    for chain in CHAINS:
        for (parent_path, parent), (child_path, child) in zip(chain["chain"], chain["chain"][1:], strict=False):
            pairs.append((chain["name"], [parent_path, parent], [child_path, child]))
    return pairs


@pytest.mark.parametrize("chain", CHAINS, ids=lambda c: c["name"])
def test_published_keys_decode_and_reencode_exactly(chain: dict[str, Any]) -> None:
    assert chain["provenance"]["repo"] in ("bitcoin/bips", "bdtchain/bips")
    for path, text in chain["chain"]:
        key = parse_extended_key(text)
        steps = _path(path)
        assert key.to_base58() == text  # test vectors 3 and 4: leading zeros retained
        assert key.depth == len(steps)
        assert key.child_number == (steps[-1] if steps else 0)
        assert not key.testnet
        assert key.prefix == "xpub"


@pytest.mark.parametrize(("name", "parent", "child"), _pairs(), ids=lambda v: str(v)[:60])
def test_each_step_of_the_published_chains(name: str, parent: list[str], child: list[str]) -> None:
    """Non-hardened steps are derived with CKDpub and must give the published child; hardened ones are refused.

    For every step, hardened or not, the child names the parent's fingerprint (HASH160 of its key).
    """
    del name
    parent_key, child_key = parse_extended_key(parent[1]), parse_extended_key(child[1])
    step = _path(child[0])[-1]
    assert child_key.parent_fingerprint == parent_key.fingerprint
    if step >= HARDENED:
        with pytest.raises(InputError) as exc:
            parent_key.child(step)
        assert exc.value.code == "BIP32_HARDENED_FROM_XPUB"
    else:
        derived = parent_key.child(step)
        assert derived == child_key
        assert derived.to_base58() == child[1]


def test_the_non_hardened_tail_of_vector_1_derives_by_path() -> None:
    chain = dict(CHAINS[0]["chain"])
    start = parse_extended_key(chain["m/0H/1/2H"])
    assert start.derive((2, 1000000000)).to_base58() == chain["m/0H/1/2H/2/1000000000"]


def test_master_fingerprints_agree_with_the_descriptor_bips() -> None:
    """BIP-381 names test vector 2's master by fingerprint bd16bee5; vector 1's master is 3442193e."""
    assert parse_extended_key(CHAINS[1]["chain"][0][1]).fingerprint.hex() == "bd16bee5"
    assert parse_extended_key(CHAINS[0]["chain"][0][1]).fingerprint.hex() == "3442193e"


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["reason"])
def test_invalid_keys_of_test_vector_5_are_refused(vector: dict[str, Any]) -> None:
    key, reason = vector["key"], vector["reason"]
    with pytest.raises(InputError) as exc:
        parse_extended_key(key)
    # An extended private key is refused as such, whatever else is wrong with it, unless it is not even readable.
    if key.startswith("xprv") and reason not in ("invalid checksum",):
        assert exc.value.code == "BIP32_PRIVATE_KEY_REFUSED"
        return
    assert exc.value.code == "BIP32_KEY_INVALID"
    expected = {
        "pubkey version / prvkey mismatch": "private key data under a public version",
        "invalid pubkey prefix 04": "prefix 0x04",
        "invalid pubkey prefix 01": "prefix 0x01",
        "zero depth with non-zero parent fingerprint": "non-zero parent fingerprint",
        "zero depth with non-zero index": "non-zero child index",
        "unknown extended key version": "unknown version",
        "invalid checksum": "not base58check",
    }
    wanted = expected.get(reason, "not a point on secp256k1")
    assert wanted in exc.value.details["reason"]


@pytest.mark.parametrize(
    "key",
    [k for chain in CHAINS for _, k in chain["private"]] + VECTORS["slip132_private"]["keys"],
)
def test_private_keys_are_refused_and_never_echoed(key: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_extended_key(key)
    assert exc.value.code == "BIP32_PRIVATE_KEY_REFUSED"
    shown = json.dumps(exc.value.to_dict(), ensure_ascii=False) + str(exc.value) + exc.value.message_ja
    assert key[4:] not in shown
    assert key[8:20] not in shown


@pytest.mark.parametrize("vector", VECTORS["slip132"], ids=lambda v: v["key"][:4])
def test_slip132_forms_are_the_same_key_and_give_the_published_address(vector: dict[str, Any]) -> None:
    key = parse_extended_key(vector["key"])
    assert key.prefix == vector["key"][:4]
    canonical = parse_extended_key(key.to_base58())
    assert key.to_base58().startswith("xpub")
    assert canonical == key  # the version is a note, not part of the key
    assert key.slip132_script == {"xpub": None, "ypub": "sh(wpkh)", "zpub": "wpkh"}[key.prefix]
    child = key.derive((0, 0)).public_key
    script = {
        "xpub": p2pkh_script(hash160(child)),
        "ypub": p2sh_script(hash160(p2wpkh_script(hash160(child)))),
        "zpub": p2wpkh_script(hash160(child)),
    }[key.prefix]
    assert script_to_address(script, Network.MAINNET) == vector["address"]


def test_testnet_family_keys_name_every_test_network() -> None:
    wallets = json.loads(
        (Path(__file__).parents[2] / "vectors/bitcoin/descriptors/wallet_vectors.json").read_text("utf-8")
    )
    text = wallets["testnet_wpkh"]["descriptor"].split("]")[1].split("/")[0]
    key = parse_extended_key(text)
    assert key.testnet
    assert key.to_base58() == text
    assert [key.on_network(n) for n in Network] == [False, True, True, True]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("m", ()),
        ("m/48'/0'/0'/2'", (48 | HARDENED, HARDENED, HARDENED, 2 | HARDENED)),
        ("m/48h/0h/0h/2h", (48 | HARDENED, HARDENED, HARDENED, 2 | HARDENED)),
        ("48h/0'/1/2147483647", (48 | HARDENED, HARDENED, 1, 2147483647)),
        ("m/0", (0,)),
    ],
)
def test_paths_parse_with_either_hardened_marker(text: str, expected: tuple[int, ...]) -> None:
    assert parse_path(text) == expected
    assert parse_path(format_path(expected)) == expected
    assert parse_path(format_path(expected, "h")) == expected


def test_paths_format_for_people() -> None:
    assert format_path((48 | HARDENED, HARDENED, HARDENED, 2 | HARDENED)) == "m/48'/0'/0'/2'"
    assert format_path((48 | HARDENED, 1, 5), "h", prefix="") == "48h/1/5"


@pytest.mark.parametrize(
    "text", ["", "m/", "m//1", "m/1/", "m/-1", "m/+1", "m/1H", "m/2147483648", "m/1a", "M/1", "m/١", "m/ 1", "x"]
)
def test_bad_paths_are_refused(text: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_path(text)
    assert exc.value.code == "BIP32_PATH_INVALID"


def test_child_index_must_be_a_32_bit_non_hardened_index() -> None:
    key = parse_extended_key(CHAINS[0]["chain"][0][1])
    for index in (-1, 1 << 32):
        with pytest.raises(InputError) as exc:
            key.child(index)
        assert exc.value.code == "BIP32_DERIVATION_INVALID"
    with pytest.raises(InputError) as exc:
        key.child(HARDENED)
    assert exc.value.code == "BIP32_HARDENED_FROM_XPUB"
    assert exc.value.details["step"] == "0'"


def test_depth_cannot_pass_255() -> None:
    key = parse_extended_key(CHAINS[0]["chain"][0][1])
    deep = ExtendedPublicKey(255, bytes(4), 1, key.chain_code, key.public_key, testnet=False)
    with pytest.raises(InputError) as exc:
        deep.child(0)
    assert exc.value.code == "BIP32_DERIVATION_INVALID"


def test_child_derivation_is_cached() -> None:
    key = parse_extended_key(CHAINS[1]["chain"][0][1])
    first = key.child(7)
    hits = ckd_pub.cache_info().hits
    assert key.child(7) == first
    assert ckd_pub.cache_info().hits == hits + 1


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=130))
def test_arbitrary_text_raises_only_mamori_errors(text: str) -> None:
    with contextlib.suppress(MamoriError):
        parse_extended_key(text)
    with contextlib.suppress(MamoriError):
        parse_path(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=78, max_size=78), st.sampled_from(["0488b21e", "043587cf", "04b24746", "0488ade4"]))
def test_arbitrary_payloads_under_a_real_version_raise_only_mamori_errors(payload: bytes, version: str) -> None:
    text = base58check_encode(bytes.fromhex(version) + payload[4:])
    try:
        key = parse_extended_key(text)
    except MamoriError:
        return
    assert parse_extended_key(key.to_base58()) == key
    with contextlib.suppress(MamoriError):
        key.child(0)

"""Script templates, multisig parsing and the hashes scripts commit to."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.bitcoin.builders import load, load_bip174
from mamori.chains.bitcoin.script import (
    Multisig,
    ScriptKind,
    describe_script,
    hash160,
    p2pk_key,
    parse_multi_a,
    parse_multisig,
    pushed_data,
    ripemd160,
    ripemd160_pure,
    script_code_without_separators,
    witness_program,
)

BIP143 = load("bip143_vectors.json")
BIP341 = load("bip341_keypath_vectors.json")["keyPathSpending"][0]
ROLES = load_bip174()["roles_context"]["updater"]
KEY_A = bytes.fromhex("029583bf39ae0a609747ad199addd634fa6108559d6c5cd39b4c2183f1ab96e07f")
KEY_B = bytes.fromhex("02dab61ff49a14db6a7d02b0cd1fbb78fc4b18312b5b4e54dae4dba2fbfef536d7")
KEY_C = bytes.fromhex("03089dc10c7ac6db54f91329af617333db388cead0c231f723379d1b99030b02dc")


def _multisig(m: int, keys: list[bytes]) -> bytes:
    return bytes((0x50 + m,)) + b"".join(bytes((len(key),)) + key for key in keys) + bytes((0x50 + len(keys), 0xAE))


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("76a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac", ScriptKind.P2PKH),
        ("a9144733f37cf4db86fbc2efed2500b4f4e49f31202387", ScriptKind.P2SH),
        ("00141d0f172a0ecb48aee1be1f2687d2963ae33f71a1", ScriptKind.P2WPKH),
        ("00205d1b56b63d714eebe542309525f484b7e9d6f686b3781b6f61ef925d66d6f6a0", ScriptKind.P2WSH),
        ("512053a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343", ScriptKind.P2TR),
        ("2103c9f4836b9a4f77fc0d81f7bcb01b7f1b35916864b9476c241ce9fc198bd25432ac", ScriptKind.P2PK),
        ("6a0568656c6c6f", ScriptKind.NULL_DATA),
        ("6a", ScriptKind.NULL_DATA),
        ("5210" + "00" * 16, ScriptKind.WITNESS_UNKNOWN),  # version 2, 16-byte program
        ("0014" + "00" * 19, ScriptKind.NONSTANDARD),  # v0 program of the wrong length
        ("", ScriptKind.NONSTANDARD),
        ("ac", ScriptKind.NONSTANDARD),
        (ROLES["redeem_scripts"][0], ScriptKind.MULTISIG),
        (ROLES["redeem_scripts"][1], ScriptKind.P2WSH),  # the P2SH-P2WSH redeem script is a P2WSH program
    ],
)
def test_classify_published_scripts(script: str, expected: ScriptKind) -> None:
    assert describe_script(bytes.fromhex(script)).kind is expected


def test_witness_programs() -> None:
    assert witness_program(bytes.fromhex(BIP341["utxosSpent"][0]["scriptPubKey"])) == (
        1,
        bytes.fromhex(BIP341["utxosSpent"][0]["scriptPubKey"])[2:],
    )
    assert witness_program(bytes.fromhex("00141d0f172a0ecb48aee1be1f2687d2963ae33f71a1"))[0] == 0  # type: ignore[index]
    assert witness_program(bytes.fromhex("0015" + "00" * 21)) is None
    assert witness_program(bytes.fromhex("76a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac")) is None


def test_the_bip174_walkthrough_multisig_scripts() -> None:
    legacy = parse_multisig(bytes.fromhex(ROLES["redeem_scripts"][0]))
    assert legacy == Multisig(2, (KEY_A, KEY_B))
    assert legacy.n == 2
    witness = parse_multisig(bytes.fromhex(ROLES["witness_scripts"][0]))
    assert witness is not None
    assert witness.m == 2
    assert witness.keys == (KEY_C, bytes.fromhex("023add904f3d6dcf59ddb906b0dee23529b7ffb9ed50e5e86151926860221f0e73"))
    assert not witness.is_sorted  # 03… before 02…: written as multi(), not sortedmulti()


def test_the_bip143_six_of_six() -> None:
    script = bytes.fromhex(BIP143["cases"][4]["witness_script"])
    multisig = parse_multisig(script)
    assert multisig is not None
    assert (multisig.m, multisig.n) == (6, 6)
    assert [key.hex() for key in multisig.keys] == [check["pubkey"] for check in BIP143["cases"][4]["checks"]]


def test_sortedmulti_is_multisig_with_sorted_keys() -> None:
    keys = sorted([KEY_C, KEY_A, KEY_B])
    multisig = parse_multisig(_multisig(2, keys))
    assert multisig is not None
    assert multisig.is_sorted
    assert multisig.keys == tuple(keys)


@pytest.mark.parametrize(
    "script",
    [
        _multisig(3, [KEY_A, KEY_B]),  # m > n
        _multisig(2, [KEY_A, KEY_B])[:-1] + b"\xac",  # CHECKSIG, not CHECKMULTISIG
        b"\x00" + _multisig(1, [KEY_A])[1:],  # m = 0
        b"\x52\x4c\x21" + KEY_A + b"\x21" + KEY_B + b"\x52\xae",  # a key pushed with OP_PUSHDATA1: not minimal
        b"\x01\x02\x21" + KEY_A + b"\x21" + KEY_B + b"\x52\xae",  # m = 2 pushed as data: not minimal
        _multisig(1, [KEY_A]).replace(b"\x51\xae", b"\x52\xae"),  # n says 2, one key
        _multisig(1, [b"\x05" + KEY_A[1:]]),  # not a public key encoding
        _multisig(1, [KEY_A]) + b"\x00",  # trailing byte
    ],
)
def test_non_standard_multisig_is_not_recognised(script: bytes) -> None:
    assert parse_multisig(script) is None


def test_multisig_up_to_twenty_keys_with_minimal_number_pushes() -> None:
    keys = [bytes((2,)) + hashlib.sha256(bytes((n,))).digest() for n in range(20)]
    script = b"\x01\x11" + b"".join(b"\x21" + key for key in keys) + b"\x01\x14\xae"  # 17 of 20
    multisig = parse_multisig(script)
    assert multisig is not None
    assert (multisig.m, multisig.n) == (17, 20)


def test_multi_a_and_p2pk() -> None:
    xonly = [KEY_A[1:], KEY_B[1:], KEY_C[1:]]
    script = b"\x20" + xonly[0] + b"\xac" + b"".join(b"\x20" + key + b"\xba" for key in xonly[1:]) + b"\x52\x9c"
    assert parse_multi_a(script) == Multisig(2, tuple(xonly))
    assert parse_multi_a(script[:-1] + b"\x87") is None  # OP_EQUAL, not OP_NUMEQUAL
    assert parse_multi_a(b"\x20" + xonly[0] + b"\xac\x54\x9c") is None  # 4 of 1
    assert p2pk_key(b"\x21" + KEY_A + b"\xac") == KEY_A
    assert p2pk_key(b"\x21" + KEY_A + b"\xad") is None


def test_pushed_data_and_truncated_pushes() -> None:
    assert pushed_data(bytes.fromhex(ROLES["redeem_scripts"][0])) == (KEY_A, KEY_B)
    assert pushed_data(b"\x00\x4c\x02ab\x4d\x01\x00c") == (b"", b"ab", b"c")
    assert pushed_data(b"\x05ab") is None
    assert pushed_data(b"\x4e\x01\x00") is None


def test_script_code_removes_executed_codeseparators_like_core() -> None:
    assert script_code_without_separators(b"\x51\xab\x52") == b"\x02\x51\x52"
    assert script_code_without_separators(b"\x02\xab\xab\xab") == b"\x03\x02\xab\xab"  # pushed 0xab bytes stay
    # Core: a push that runs past the end stops the walk; the length still counts every byte but separators
    assert script_code_without_separators(b"\xab\x05\x01") == b"\x02\x05"


@pytest.mark.parametrize(
    ("message", "digest"),
    [
        (b"", "9c1185a5c5e9fc54612808977ee8f548b2258d31"),
        (b"abc", "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"),
        (b"message digest", "5d0689ef49d2fae572b881b123a85ffa21595f36"),
        (b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "12a053384a9c0c88e405a06c27dcf49ada62eb2b"),
        (b"1234567890" * 8, "9b752e45573d4b39f4dbd3323cab82bf63326bfb"),
    ],
)
def test_ripemd160_reference_vectors(message: bytes, digest: str) -> None:
    """The test vectors of the RIPEMD-160 authors (Dobbertin, Bosselaers, Preneel), for both implementations."""
    assert ripemd160_pure(message).hex() == digest
    assert ripemd160(message).hex() == digest


@given(st.binary(max_size=300))
def test_pure_ripemd160_agrees_with_the_selected_one(data: bytes) -> None:
    assert ripemd160_pure(data) == ripemd160(data)


def test_hash160_of_the_bip143_p2wpkh_key() -> None:
    case = BIP143["cases"][0]
    assert hash160(bytes.fromhex(case["checks"][0]["pubkey"])).hex() == case["spent_outputs"][1]["script_pubkey"][4:]


@given(st.binary(max_size=80))
def test_classification_never_raises(script: bytes) -> None:
    assert isinstance(describe_script(script).kind, ScriptKind)
    parse_multisig(script)
    parse_multi_a(script)
    pushed_data(script)
    script_code_without_separators(script)

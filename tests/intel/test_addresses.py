"""Address normalisation for screening: tables per chain family, the BIP-173/350 vectors, and properties.

Vectors: BIP-350 (github.com/bitcoin/bips bip-0350.mediawiki, as in sipa/bech32 ref/python/tests.py), EIP-55's
examples (eips.ethereum.org/EIPS/eip-55), and real addresses from the OFAC SDN lists in ../shared/data/intel.
The small encoders at the end are written from the specifications, independently of the decoders under test.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.chains.addresses import CASE_INSENSITIVE_FAMILIES, NOTE_MESSAGES, Family, ScreenKey, classify, normalise
from mamori.errors import MamoriError

EIP55 = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]

BIP350_VALID = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bitcoin"),
    ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "bitcoin-testnet"),
    ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", "bitcoin"),
    ("BC1SW50QGDZ25J", "bitcoin"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "bitcoin"),
    ("tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy", "bitcoin-testnet"),
    ("tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", "bitcoin-testnet"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "bitcoin"),
]

# BIP-350's invalid addresses, with the reason the BIP gives. Each is kept as exact text ("other"), except the two
# that fail for a reason screening deliberately tolerates (see the tests below).
BIP350_INVALID = [
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # bech32 instead of bech32m
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",  # bech32 instead of bech32m
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",  # bech32 instead of bech32m
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # bech32m instead of bech32
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",  # bech32m instead of bech32
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",  # invalid character in checksum
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",  # invalid witness version
    "bc1pw5dgrnzv",  # program length 1 byte
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",  # program length 41 bytes
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",  # program length 16 for witness version 0
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",  # more than 4 padding bits
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",  # non-zero padding
    "bc1gmk9yu",  # empty data section
]
BIP350_INVALID_HRP = "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut"
BIP350_MIXED_CASE = "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq"

# Real addresses from ../shared/data/intel/ofac_sdn_2025-11-19, one or more per family.
REAL = {
    "evm_checksummed": "0x983a81ca6FB1e441266D2FbcB7D8E530AC2E05A2",
    "evm_lower": "0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c",
    "btc_p2pkh": "16iWn2J1McqjToYLHSsAyS6En3QA8YQ91H",
    "btc_p2sh": "3E6ZCKRrsdPc35chA9Eftp1h3DLW18NFNV",
    "btc_bech32": "bc1q05aktddf9ce4p7hh3stgsf253m4vweu7nkhtmw",
    "btc_p2wsh": "bc1q4rzdtlt0uslyw86cp29sctl6ct29g9a95cuup7pn5md9ddj7xgmqpp5m73",
    "bnb": "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23",
    "tron": "TA3941uFAvmVibSkQ6fMJXxmaSNovX86mz",
    "ltc": "LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb",
    "ltc_m": "M8yFL6SFC6TreATegTyuSYkDfDRbisdpT3",
    "dash": "XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2",
    "zec": "t1MMXtBrSp1XG38Lx9cePcNUCJj5vdWfUWL",
    "btg": "GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpS",
    "xvg": "DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z",
    "bsv": "12sjrrhoFEsedNRhtgwvvRqjFTh8fZTDX9",
    "cashaddr": "qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq",
    "xrp": "rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66",
    "xmr": "49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL",
    "sol": "42RLPACwZPx3vYYmxSueqsogfynBDqXK298EDsNoyoHi",
}

# base58check version prefixes and the kind of hash they carry (Bitcoin, Litecoin, Dash, TRON, Dogecoin/Verge, Bitcoin
# Gold, testnet, Zcash t-addresses), from each chain's chainparams.
B58_KINDS = {
    b"\x00": "p2pkh",
    b"\x05": "p2sh",
    b"\x30": "p2pkh",
    b"\x32": "p2sh",
    b"\x4c": "p2pkh",
    b"\x10": "p2sh",
    b"\x41": "tron",
    b"\x1e": "p2pkh",
    b"\x16": "p2sh",
    b"\x26": "p2pkh",
    b"\x17": "p2sh",
    b"\x6f": "p2pkh",
    b"\xc4": "p2sh",
    b"\x1c\xb8": "p2pkh",
    b"\x1c\xbd": "p2sh",
}

FAMILY_TABLE = [
    ("evm_checksummed", Family.EVM, "evm"),
    ("evm_lower", Family.EVM, "evm"),
    ("btc_p2pkh", Family.HASH, "bitcoin"),
    ("btc_p2sh", Family.HASH, "bitcoin"),
    ("btc_bech32", Family.BECH32, "bitcoin"),
    ("btc_p2wsh", Family.BECH32, "bitcoin"),
    ("bnb", Family.BECH32, "bnb-beacon-chain"),
    ("tron", Family.HASH, "tron"),
    ("ltc", Family.HASH, "litecoin"),
    ("ltc_m", Family.HASH, "litecoin"),
    ("dash", Family.HASH, "dash"),
    ("zec", Family.HASH, "zcash"),
    ("btg", Family.HASH, "bitcoin-gold"),
    ("xvg", Family.HASH, "dogecoin"),  # version 0x1e is shared: the hint tells (below)
    ("bsv", Family.HASH, "bitcoin"),
    ("cashaddr", Family.HASH, "bitcoin-cash"),
    ("xrp", Family.XRP, "xrp"),
    ("xmr", Family.MONERO, "monero"),
    ("sol", Family.SOLANA, "solana"),
]


@pytest.mark.parametrize(("name", "family", "chain"), FAMILY_TABLE)
def test_family_from_form(name: str, family: Family, chain: str) -> None:
    key = normalise(REAL[name])
    assert (key.family, key.chain, key.notes) == (family, chain, ())


@pytest.mark.parametrize("address", EIP55)
def test_evm_is_checksum_insensitive(address: str) -> None:
    forms = [address, address.lower(), "0x" + address[2:].upper(), "0X" + address[2:], f"  {address}\n"]
    keys = {normalise(form) for form in forms}
    assert keys == {ScreenKey(Family.EVM, address.lower(), "evm")}
    assert all(not normalise(form).notes for form in forms)


def test_evm_wrong_checksum_still_matches_but_is_reported() -> None:
    address = EIP55[0]
    wrong = address[:2] + address[2:].swapcase()  # mixed case, every letter flipped: fails EIP-55
    key = normalise(wrong)
    assert key == normalise(address)
    assert key.notes == ("EVM_CHECKSUM_MISMATCH",)
    assert "EVM_CHECKSUM_MISMATCH" in NOTE_MESSAGES


@pytest.mark.parametrize(("address", "chain"), BIP350_VALID)
def test_bip350_valid_addresses_are_bech32_case_insensitive(address: str, chain: str) -> None:
    key = normalise(address)
    assert (key.family, key.normalised, key.chain, key.notes) == (Family.BECH32, address.lower(), chain, ())
    assert normalise(address.upper()) == normalise(address.lower()) == key


@pytest.mark.parametrize("address", BIP350_INVALID)
def test_bip350_invalid_addresses_are_exact_text_only(address: str) -> None:
    key = normalise(address)
    assert (key.family, key.normalised, key.notes) == (Family.OTHER, address, ("FORM_UNRECOGNISED",))
    assert normalise(address.swapcase()) != key


def test_bip350_invalid_hrp_is_bech32_but_not_bitcoin() -> None:
    # A valid bech32m string whose HRP "tc" is no Bitcoin network: screened as generic bech32, never as Bitcoin.
    key = normalise(BIP350_INVALID_HRP)
    assert (key.family, key.chain) == (Family.BECH32, "bech32:tc")


def test_bech32_mixed_case_is_invalid_per_bip173_yet_matches() -> None:
    key = normalise(BIP350_MIXED_CASE)
    assert key.notes == ("BECH32_MIXED_CASE",)
    assert key == normalise(BIP350_MIXED_CASE.lower())


@pytest.mark.parametrize(
    "checksum_only",
    [
        "A12UEL5L",
        "a12uel5l",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
        "?1ezyfcl",
        "A1LQFN3A",
        "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
        "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    ],
)
def test_bip173_bip350_checksum_vectors(checksum_only: str) -> None:
    assert normalise(checksum_only).family is Family.BECH32


@pytest.mark.parametrize(
    "bad",
    [
        "pzry9x0s0muk",  # no separator
        "x1b4n0q5v",  # invalid data character
        "A1G7SGD8",  # checksum computed with the upper-case HRP
        "M1VUXWEZ",  # same, bech32m
        "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",  # > 90
    ],
)
def test_bip173_bip350_invalid_checksum_vectors(bad: str) -> None:
    assert normalise(bad).family is Family.OTHER


def test_cashaddr_prefix_and_case_are_insensitive() -> None:
    bare = REAL["cashaddr"]
    expected = normalise("bitcoincash:" + bare)
    assert expected.normalised == "p2pkh:" + _cashaddr_decode("bitcoincash:" + bare)[1].hex()
    assert normalise(bare) == normalise(bare.upper()) == normalise("BITCOINCASH:" + bare.upper()) == expected
    mixed = normalise(bare[:10].upper() + bare[10:])
    assert mixed == expected
    assert mixed.notes == ("CASHADDR_MIXED_CASE",)
    assert normalise("bchtest:" + bare).family is Family.OTHER  # the checksum covers the network prefix


@pytest.mark.parametrize("name", ["btc_p2pkh", "btc_p2sh", "tron", "ltc", "ltc_m", "dash", "zec", "btg", "bsv"])
def test_base58check_is_keyed_on_its_hash_and_exact_case(name: str) -> None:
    address = REAL[name]
    raw = _b58decode(address, BITCOIN)[:-4]
    version, digest = (raw[:2], raw[2:]) if len(raw) == 22 else (raw[:1], raw[1:])
    assert normalise(address).normalised == f"{B58_KINDS[version]}:{digest.hex()}"
    assert normalise(address.swapcase()) != normalise(address)
    assert normalise(address.swapcase()).family is Family.OTHER


@pytest.mark.parametrize("name", ["xrp", "xmr", "sol"])
def test_other_base58_forms_are_exact_text(name: str) -> None:
    address = REAL[name]
    assert normalise(address).normalised == address
    assert normalise(address.swapcase()) != normalise(address)
    assert normalise(address.swapcase()).family is Family.OTHER


def test_xrp_uses_its_own_alphabet() -> None:
    address = REAL["xrp"]
    # Read with Bitcoin's alphabet the checksum fails; with Ripple's it holds.
    ripple = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
    raw = _b58decode(address, ripple)
    assert raw[0] == 0 and len(raw) == 25
    assert hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]
    bitcoin = _b58decode(address, BITCOIN)
    assert hashlib.sha256(hashlib.sha256(bitcoin[:-4]).digest()).digest()[:4] != bitcoin[-4:]
    assert normalise(address).family is Family.XRP
    assert normalise(address[:-1] + ("7" if address[-1] != "7" else "8")).family is Family.OTHER


def test_monero_checksum_is_checked() -> None:
    address = REAL["xmr"]
    assert normalise(address).family is Family.MONERO
    altered = address[:50] + ("A" if address[50] != "A" else "B") + address[51:]
    assert normalise(altered).family is Family.OTHER


def test_hint_names_the_chain_but_never_changes_the_key() -> None:
    xvg = REAL["xvg"]
    assert normalise(xvg, "XVG").chain == "verge"
    assert normalise(xvg, "DOGE").chain == "dogecoin"
    assert normalise(REAL["bsv"], "BSV").chain == "bitcoin-sv"
    assert normalise(REAL["evm_lower"], "ETH").chain == "ethereum"
    tron_in_xbt = normalise("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", "XBT")  # the OFAC XBT file's TRON address
    assert (tron_in_xbt.chain, tron_in_xbt.notes) == ("tron", ("ASSET_LABEL_MISMATCH",))
    assert normalise(REAL["tron"], "USDT").notes == ()  # a token label names no chain
    for address in REAL.values():
        for hint in (None, "ETH", "XBT", "TRX", "USDT", "SOL", "nonsense", ""):
            assert normalise(address, hint) == normalise(address)


def test_unrecognised_text_is_kept_exactly() -> None:
    listed = "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320"  # in the OFAC XMR file
    key = normalise(listed)
    assert (key.family, key.normalised, key.notes) == (Family.OTHER, listed, ("FORM_UNRECOGNISED",))
    assert normalise("0x" + "ab" * 19) == ScreenKey(Family.OTHER, "0x" + "ab" * 19, "unknown")  # 19 bytes


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_empty_text_is_an_error(bad: str) -> None:
    with pytest.raises(MamoriError) as raised:
        normalise(bad)
    assert raised.value.code == "ADDRESS_EMPTY"


def test_non_text_is_an_error() -> None:
    with pytest.raises(MamoriError) as raised:
        normalise(b"0x00")  # type: ignore[arg-type]
    assert raised.value.code == "FIELD_TYPE_INVALID"


# --- one key, several written forms (H4, L4) -------------------------------------------------------------------

# The OFAC BCH file (both snapshots) lists this legacy base58check P2PKH address; its CashAddr form was computed
# with the reference encoder below and checked by decoding both to the same hash160.
BCH_LEGACY = "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB"
BCH_CASHADDR = "bitcoincash:qpgf0ztxq3mwfq6eg5versgfdzq9c3pwv5jsk6wnay"
BCH_HASH160 = "509789660476e48359451991c10968805c442e65"
# The OFAC LTC file's P2SH address in its version-50 form (M…) and the same script hash under version 5 (3…).
LTC_M = "M8yFL6SFC6TreATegTyuSYkDfDRbisdpT3"
LTC_3 = "32m72D2HEycRqfBkaazZcuVpLWq9k3sYdt"


def test_bch_legacy_and_cashaddr_decode_to_one_hash160() -> None:
    legacy = _b58decode(BCH_LEGACY, BITCOIN)
    assert hashlib.sha256(hashlib.sha256(legacy[:-4]).digest()).digest()[:4] == legacy[-4:]
    assert (legacy[0], legacy[1:-4].hex()) == (0, BCH_HASH160)
    assert _cashaddr_decode(BCH_CASHADDR) == (0, bytes.fromhex(BCH_HASH160))
    assert _cashaddr_encode("bitcoincash", 0, bytes.fromhex(BCH_HASH160)) == BCH_CASHADDR


def test_every_written_form_of_the_bch_address_is_one_key() -> None:
    bare = BCH_CASHADDR.partition(":")[2]
    forms = [BCH_LEGACY, BCH_CASHADDR, bare, bare.upper(), BCH_CASHADDR.upper(), f" {bare}\n"]
    keys = {normalise(form) for form in forms}
    assert keys == {ScreenKey(Family.HASH, "p2pkh:" + BCH_HASH160, "bitcoin")}
    assert normalise(BCH_LEGACY, "BCH").chain == normalise(bare).chain == "bitcoin-cash"
    mixed = normalise(bare[:6].upper() + bare[6:])
    assert (mixed, mixed.notes) == (normalise(BCH_LEGACY), ("CASHADDR_MIXED_CASE",))
    # Token-aware CashAddr (CashTokens, type 2) locks to the same P2PKH script: the same key.
    token_aware = _cashaddr_encode("bitcoincash", 0x10, bytes.fromhex(BCH_HASH160))
    assert normalise(token_aware) == normalise(token_aware.partition(":")[2]) == normalise(BCH_LEGACY)


def test_litecoin_p2sh_3_and_m_forms_are_one_key() -> None:
    script_hash = _b58decode(LTC_M, BITCOIN)[1:-4]
    assert _base58check(b"\x05" + script_hash) == LTC_3
    assert normalise(LTC_M) == normalise(LTC_3) == ScreenKey(Family.HASH, "p2sh:" + script_hash.hex(), "litecoin")
    assert normalise(LTC_3, "LTC").chain == "litecoin"
    assert normalise(LTC_3).chain == "bitcoin"  # version 5 is shared: without a label, the first candidate


@given(st.binary(min_size=20, max_size=20))
def test_every_form_of_one_hash_is_one_key_and_kinds_stay_apart(digest: bytes) -> None:
    p2pkh = [_base58check(v + digest) for v, kind in B58_KINDS.items() if kind == "p2pkh"]
    p2pkh += [_cashaddr_encode("bitcoincash", version, digest) for version in (0x00, 0x10)]
    p2pkh += [_cashaddr_encode("bchtest", 0x00, digest)]
    p2sh = [_base58check(v + digest) for v, kind in B58_KINDS.items() if kind == "p2sh"]
    p2sh += [_cashaddr_encode("bitcoincash", version, digest) for version in (0x08, 0x18)]
    tron = [_base58check(b"\x41" + digest), "41" + digest.hex(), "41" + digest.hex().upper()]
    for kind, forms in (("p2pkh", p2pkh), ("p2sh", p2sh), ("tron", tron)):
        assert {classify(form)[:2] for form in forms} == {(Family.HASH, f"{kind}:{digest.hex()}")}, forms


def test_cashaddr_of_another_type_or_size_is_keyed_on_its_text() -> None:
    # Type 4 has no base58check counterpart; a 32-byte P2SH (P2SH32) has no legacy form but is keyed on its hash.
    other_type = _cashaddr_encode("bitcoincash", 0x20, bytes(range(20)))
    assert classify(other_type)[:2] == (Family.CASHADDR, other_type)
    p2sh32 = _cashaddr_encode("bitcoincash", 0x0B, bytes(range(32)))
    assert classify(p2sh32.upper())[:2] == (Family.HASH, "p2sh:" + bytes(range(32)).hex())


def test_tron_hex_form_is_the_base58_form() -> None:
    tron = REAL["tron"]
    raw = _b58decode(tron, BITCOIN)[:-4]
    assert raw[0] == 0x41
    for written in (raw.hex(), raw.hex().upper(), f" {raw.hex()} "):
        assert normalise(written) == normalise(tron) == ScreenKey(Family.HASH, "tron:" + raw[1:].hex(), "tron")
    assert normalise("42" + raw[1:].hex()).family is Family.OTHER  # only 0x41 is TRON's prefix


def test_evm_without_0x_is_the_0x_form() -> None:
    for address in (*EIP55, REAL["evm_lower"]):
        assert normalise(address[2:]) == normalise(address.upper()[2:]) == normalise(address)
        assert normalise(address[2:]).notes == ()
    wrong = EIP55[0][2:].swapcase()
    assert normalise(wrong).notes == ("EVM_CHECKSUM_MISMATCH",)
    assert normalise("ab" * 19).family is Family.OTHER  # 38 hex digits: no address


def test_chains_normaliser_does_not_import_intel() -> None:
    import ast
    import subprocess
    import sys
    from pathlib import Path

    chains = Path(__file__).resolve().parents[2] / "src" / "mamori" / "chains"
    for source in chains.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(name.startswith("mamori.intel") for name in names), source
    probe = "import sys, mamori.chains.addresses; print(any(m.startswith('mamori.intel') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_intel_addresses_re_exports_the_chains_normaliser() -> None:
    from mamori.chains import addresses as chains
    from mamori.intel import addresses as intel

    assert intel.normalise is chains.normalise and intel.NOTE_MESSAGES is chains.NOTE_MESSAGES
    assert set(intel.__all__) <= set(vars(chains))


# --- properties ------------------------------------------------------------------------------------------------


@settings(max_examples=500)
@given(st.text(max_size=130), st.one_of(st.none(), st.text(max_size=8)))
def test_any_text_gives_a_key_or_a_mamori_error(text: str, hint: str | None) -> None:
    try:
        key = normalise(text, hint)
    except MamoriError:
        assert not text.strip()
        return
    assert key.normalised
    assert all(code in NOTE_MESSAGES for code in key.notes)
    if key.family in CASE_INSENSITIVE_FAMILIES:
        assert normalise(text.swapcase()) == key


def _case_free(address: str) -> bool:
    """Whether the address's written form ignores case (EVM, bech32, CashAddr, TRON hex), whatever its family."""
    key = normalise(address)
    return key.family is not Family.OTHER and normalise(address.lower()) == normalise(address.upper()) == key


@given(st.sampled_from(sorted(REAL.values())), st.lists(st.booleans(), min_size=120, max_size=120))
def test_case_changes_keep_case_insensitive_keys_and_break_exact_ones(address: str, flips: list[bool]) -> None:
    changed = "".join(c.swapcase() if flip else c for c, flip in zip(address, flips, strict=False))
    if _case_free(address):
        assert normalise(changed) == normalise(address)
    elif changed != address:
        assert normalise(changed) != normalise(address)


def test_written_forms_that_ignore_case() -> None:
    free = {name for name, address in REAL.items() if _case_free(address)}
    assert free == {"evm_checksummed", "evm_lower", "btc_bech32", "btc_p2wsh", "bnb", "cashaddr"}


@given(st.binary(min_size=20, max_size=20), st.sampled_from(sorted(B58_KINDS)))
def test_base58check_round_trip(payload: bytes, version: bytes) -> None:
    address = _base58check(version + payload)
    assert classify(address)[:2] == (Family.HASH, f"{B58_KINDS[version]}:{payload.hex()}")


@given(st.binary(min_size=20, max_size=20), st.sampled_from([0x01, 0x99, 0xFF]))
def test_base58check_of_an_unknown_version_is_exact_text(payload: bytes, version: int) -> None:
    address = _base58check(bytes([version]) + payload)
    assert classify(address)[:2] == (Family.BASE58CHECK, address)


@given(st.binary(min_size=32, max_size=32))
def test_solana_round_trip(key: bytes) -> None:
    address = _b58encode(key, BITCOIN)
    family = normalise(address).family
    # 1 in 2**32 such keys also passes a base58check checksum; both are exact-case families.
    assert family in (Family.SOLANA, Family.BASE58CHECK)


@given(st.sampled_from([(0, 20), (0, 32), (1, 32), (2, 16)]), st.binary(min_size=40, max_size=40))
def test_segwit_round_trip(shape: tuple[int, int], program: bytes) -> None:
    version, size = shape
    address = _segwit("bc", version, program[:size])
    key = normalise(address.upper())
    assert (key.family, key.normalised, key.chain) == (Family.BECH32, address, "bitcoin")


@given(st.binary(min_size=20, max_size=20))
def test_xrp_round_trip(account: bytes) -> None:
    address = _base58check(b"\0" + account, RIPPLE)
    assert normalise(address).family is Family.XRP


# --- independent reference encoders, from the specifications ---------------------------------------------------

BITCOIN = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
RIPPLE = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"


def _b58encode(raw: bytes, alphabet: str) -> str:
    number, out = int.from_bytes(raw, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        out = alphabet[digit] + out
    return alphabet[0] * (len(raw) - len(raw.lstrip(b"\0"))) + out


def _b58decode(text: str, alphabet: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + alphabet.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return bytes(len(text) - len(text.lstrip(alphabet[0]))) + body


def _base58check(payload: bytes, alphabet: str = BITCOIN) -> str:
    return _b58encode(payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4], alphabet)


def _segwit(hrp: str, version: int, program: bytes) -> str:
    """BIP-173/350 encoding, straight from the BIPs' pseudo-code."""
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]

    def polymod(values: list[int]) -> int:
        chk = 1
        for value in values:
            top = chk >> 25
            chk = (chk & 0x1FFFFFF) << 5 ^ value
            for i in range(5):
                chk ^= generator[i] if ((top >> i) & 1) else 0
        return chk

    acc = bits = 0
    data = [version]
    for byte in program:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    const = 1 if version == 0 else 0x2BC830A3
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    residue = polymod(expanded + data + [0] * 6) ^ const
    checksum = [(residue >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join("qpzry9x8gf2tvdw0s3jn54khce6mua7l"[d] for d in data + checksum)


def _cashaddr_polymod(values: list[int]) -> int:
    generator = [0x98F2BC8E61, 0x79B76D99E2, 0xF33E5FB3C4, 0xAE2EABE2A8, 0x1E4F43E470]
    chk = 1
    for value in values:
        top = chk >> 35
        chk = ((chk & 0x07FFFFFFFF) << 5) ^ value
        for i in range(5):
            chk ^= generator[i] if ((top >> i) & 1) else 0
    return chk ^ 1


def _regroup(data: bytes | list[int], source: int, target: int, pad: bool) -> list[int]:
    acc = bits = 0
    out = []
    for value in data:
        acc, bits = (acc << source) | value, bits + source
        while bits >= target:
            bits -= target
            out.append((acc >> bits) & ((1 << target) - 1))
    if pad and bits:
        out.append((acc << (target - bits)) & ((1 << target) - 1))
    return out


def _cashaddr_encode(prefix: str, version: int, digest: bytes) -> str:
    """CashAddr encoding, from the Bitcoin Cash specification (spec/cashaddr.md)."""
    data = _regroup(bytes([version]) + digest, 8, 5, pad=True)
    residue = _cashaddr_polymod([ord(c) & 31 for c in prefix] + [0] + data + [0] * 8)
    checksum = [(residue >> 5 * (7 - i)) & 31 for i in range(8)]
    return prefix + ":" + "".join("qpzry9x8gf2tvdw0s3jn54khce6mua7l"[d] for d in data + checksum)


def _cashaddr_decode(address: str) -> tuple[int, bytes]:
    prefix, _, payload = address.lower().partition(":")
    data = ["qpzry9x8gf2tvdw0s3jn54khce6mua7l".index(c) for c in payload]
    assert _cashaddr_polymod([ord(c) & 31 for c in prefix] + [0] + data) == 0, "checksum"
    raw = bytes(_regroup(data[:-8], 5, 8, pad=False))
    return raw[0], raw[1:]

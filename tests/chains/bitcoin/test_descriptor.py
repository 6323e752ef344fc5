"""Output descriptors: the BIP-380..389 vectors, a 2-of-3 wallet against embit, change proven by derivation (and the
attacks where it is not), wallet files, and hostile input."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from coincurve import PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.chains.bitcoin.address import (
    ScriptKind,
    base58check_decode,
    p2sh_script,
    p2wsh_script,
)
from mamori.chains.bitcoin.bip32 import HARDENED
from mamori.chains.bitcoin.descriptor import (
    MATCH_REASONS,
    NOTE_MESSAGES,
    Descriptor,
    MatchOutcome,
    add_checksum,
    descriptor_checksum,
    load_wallets,
    parse_descriptor,
    parse_wallet_argument,
    parse_wallets,
)
from mamori.chains.bitcoin.networks import Network
from mamori.chains.bitcoin.script import hash160
from mamori.errors import InputError, MamoriError

VECTOR_DIR = Path(__file__).parents[2] / "vectors/bitcoin/descriptors"
VECTORS = json.loads((VECTOR_DIR / "descriptor_vectors.json").read_text("utf-8"))
WALLETS = json.loads((VECTOR_DIR / "wallet_vectors.json").read_text("utf-8"))
SLIP132 = json.loads((VECTOR_DIR / "bip32_vectors.json").read_text("utf-8"))["slip132"]
MULTISIG = WALLETS["multisig_2of3"]
H = HARDENED
CHANGE_5 = [
    (bytes.fromhex(d["pubkey"]), bytes.fromhex(d["fingerprint"]), tuple(d["path"]))
    for d in MULTISIG["derivations"]["change_5"]
]
ATTACKER_KEY = bytes.fromhex("0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600")  # BIP-380's key
ATTACKER_FINGERPRINT = bytes.fromhex("deadbeef")
XPUB = "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL"


def _wif_to_public(match: re.Match[str]) -> str:
    raw = base58check_decode(match.group(0))
    if raw is None or raw[0] != 0x80:
        return match.group(0)
    return PrivateKey(raw[1:33]).public_key.format(compressed=len(raw) == 34).hex()


def public_form(descriptor: str) -> str:
    """The descriptor with every private key replaced by its public key (see the vectors' README)."""
    for pair in VECTORS["public_equivalents"]:
        descriptor = descriptor.replace(pair["private"], pair["public"])
    return re.sub(r"\b[5KL][1-9A-HJ-NP-Za-km-z]{50,51}\b", _wif_to_public, descriptor)


def _scripts(descriptor: Descriptor, count: int, branch: int = 0) -> list[str]:
    return [descriptor.script_at(i, branch).hex() for i in range(count if descriptor.ranged else 1)]


def _has_private_key(text: str) -> bool:
    return "prv" in text or re.search(r"\b[5KL][1-9A-HJ-NP-Za-km-z]{50,51}\b", text) is not None


# --- the BIP vectors -------------------------------------------------------------------------------------------


def test_checksum_of_bip380() -> None:
    assert descriptor_checksum("raw(deadbeef)") == "89f8spxm"
    assert add_checksum("raw(deadbeef)") == "raw(deadbeef)#89f8spxm"
    descriptor = parse_descriptor("raw(deadbeef)#89f8spxm")
    assert (descriptor.text, descriptor.checksum, descriptor.with_checksum) == (
        "raw(deadbeef)",
        "89f8spxm",
        "raw(deadbeef)#89f8spxm",
    )
    assert parse_descriptor(MULTISIG["descriptor"]).with_checksum == add_checksum(MULTISIG["descriptor"])


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["descriptor"][:50])
def test_valid_bip_descriptors(vector: dict[str, Any]) -> None:
    text = vector["descriptor"]
    if _has_private_key(text):
        with pytest.raises(InputError) as exc:
            parse_descriptor(text)
        assert exc.value.code == "DESCRIPTOR_PRIVATE_KEY_REFUSED"
        text = public_form(text)
    if "public_form_refused" in vector:
        with pytest.raises(InputError) as exc:
            parse_descriptor(text)
        assert exc.value.code == vector["public_form_refused"] == "DESCRIPTOR_HARDENED_AFTER_XPUB"
        return
    descriptor = parse_descriptor(text)
    assert _scripts(descriptor, len(vector["scripts"])) == vector["scripts"]


@pytest.mark.parametrize("vector", VECTORS["key_expressions_valid"], ids=lambda v: v["name"])
def test_bip380_key_expressions(vector: dict[str, Any]) -> None:
    key = vector["key"]
    if _has_private_key(key):
        expected = "DESCRIPTOR_PRIVATE_KEY_REFUSED"
    elif re.search(r"xpub\w+(/\d+h?)*/\d+h", key):
        expected = "DESCRIPTOR_HARDENED_AFTER_XPUB"
    else:
        parsed = parse_descriptor(f"pk({key})")
        assert parsed.script_at(0)
        return
    with pytest.raises(InputError) as exc:
        parse_descriptor(f"pk({key})")
    assert exc.value.code == expected


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: f"{v['provenance']['path'][4:8]}-{v['reason']}")
def test_invalid_bip_descriptors(vector: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        parse_descriptor(vector["descriptor"])
    with pytest.raises(InputError) as exc:
        parse_descriptor(public_form(vector["descriptor"]))
    assert exc.value.code == vector["expected_code"]


@pytest.mark.parametrize("vector", VECTORS["multipath"], ids=lambda v: v["descriptor"][:40])
def test_bip389_multipath_expands_to_its_descriptors(vector: dict[str, Any]) -> None:
    text = public_form(vector["descriptor"])
    if "2147483647h;" in text:  # a hardened step below an xpub: needs the private key
        with pytest.raises(InputError) as exc:
            parse_descriptor(text)
        assert exc.value.code == "DESCRIPTOR_HARDENED_AFTER_XPUB"
        return
    descriptor = parse_descriptor(text)
    assert descriptor.branch_count == len(vector["expansions"])
    for branch, expansion in enumerate(vector["expansions"]):
        single = parse_descriptor(public_form(expansion))
        assert single.branch_count == 1
        assert _scripts(descriptor, 3, branch) == _scripts(single, 3)


# --- a 2-of-3 wallet against embit -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wallet() -> Descriptor:
    return parse_descriptor(MULTISIG["descriptor"], "mainnet", name="cold-1")


@pytest.mark.parametrize("branch_name", ["receive", "change"])
def test_2of3_addresses_equal_embits(wallet: Descriptor, branch_name: str) -> None:
    branch = 0 if branch_name == "receive" else 1
    for entry in MULTISIG[branch_name]:
        index = entry["index"]
        assert wallet.address_at(index, branch) == entry["address"]
        assert wallet.script_at(index, branch).hex() == entry["script_pubkey"]
        assert wallet.witness_script_at(index, branch) is not None
        assert wallet.witness_script_at(index, branch).hex() == entry["witness_script"]  # type: ignore[union-attr]
        assert wallet.redeem_script_at(index, branch) is None
    assert len(MULTISIG[branch_name]) == 20


def test_2of3_live_against_embit(wallet: Descriptor) -> None:
    """The stored addresses came from embit; this recomputes them with it, when it is installed."""
    embit_descriptor = pytest.importorskip("embit.descriptor")
    networks = pytest.importorskip("embit.networks")
    theirs = embit_descriptor.Descriptor.from_string(MULTISIG["descriptor"])
    for branch in (0, 1):
        for index in range(20):
            expected = theirs.branch(branch).derive(index).address(networks.NETWORKS["main"])
            assert wallet.address_at(index, branch) == expected


def test_wallet_model(wallet: Descriptor) -> None:
    assert wallet.name == "cold-1"
    assert wallet.kind is ScriptKind.P2WSH
    assert wallet.network is Network.MAINNET
    assert (wallet.branch_count, wallet.ranged) == (2, True)
    assert [k.fingerprint.hex() for k in wallet.keys] == ["3442193e", "bd16bee5", "41d63b50"]
    assert all(k.origin_path == (48 | H, H, H, 2 | H) for k in wallet.keys)
    assert all(k.derivation_suffix == "/<0;1>/*" for k in wallet.keys)
    assert all(k.xpub is not None and k.xpub.depth == 4 for k in wallet.keys)
    assert wallet.keys[0].full_path(1, 5) == (48 | H, H, H, 2 | H, 1, 5)
    assert wallet.notes == ()


# --- change proven by derivation -------------------------------------------------------------------------------


def _script(descriptor: Descriptor, index: int, branch: int) -> bytes:
    return descriptor.script_at(index, branch)


def test_proven_change(wallet: Descriptor) -> None:
    change_5 = bytes.fromhex(MULTISIG["change"][5]["script_pubkey"])
    match = wallet.match_derivation(change_5, CHANGE_5)
    assert (match.outcome, match.branch, match.index, match.reasons) == (MatchOutcome.PROVEN, 1, 5, ())
    assert match.proven
    # One of the three keys is enough to locate the output; the script proves it.
    assert wallet.match_derivation(change_5, CHANGE_5[:1]).outcome is MatchOutcome.PROVEN


def test_receive_branch_is_proven_and_reported_as_such(wallet: Descriptor) -> None:
    receive_3 = bytes.fromhex(MULTISIG["receive"][3]["script_pubkey"])
    claims = [
        (wallet.keys[i].pubkey_at(0, 3), wallet.keys[i].fingerprint, wallet.keys[i].full_path(0, 3)) for i in range(3)
    ]
    match = wallet.match_derivation(receive_3, claims)
    assert (match.outcome, match.branch, match.index) == (MatchOutcome.PROVEN, 0, 3)


def test_external_output_is_not_claimed(wallet: Descriptor) -> None:
    external = bytes.fromhex("0014751e76e8199196d454941c45d1b3a323f1433bd6")  # BIP-173's P2WPKH example
    assert wallet.match_derivation(external, []).outcome is MatchOutcome.EXTERNAL
    foreign = [(ATTACKER_KEY, ATTACKER_FINGERPRINT, (84 | H, H, H, 0, 0))]
    assert wallet.match_derivation(external, foreign).outcome is MatchOutcome.EXTERNAL


def test_attack_our_fingerprints_and_paths_on_an_attackers_script(wallet: Descriptor) -> None:
    """The PSBT names change index 5 of our three keys, but the output pays the attacker's script."""
    attacker_script = p2wsh_script(hashlib.sha256(b"\x51\x21" + ATTACKER_KEY + b"\x51\xae").digest())
    match = wallet.match_derivation(attacker_script, CHANGE_5)
    assert match.outcome is MatchOutcome.NOT_PROVEN
    assert match.reasons == ("SCRIPT_MISMATCH",)
    assert (match.branch, match.index) == (1, 5)


def test_attack_one_key_replaced_by_the_attackers(wallet: Descriptor) -> None:
    """2-of-3 where the third key is the attacker's: two of ours cannot spend alone, the attacker plus one can."""
    ours = [entry[0] for entry in CHANGE_5[:2]]
    keys = sorted([*ours, ATTACKER_KEY])
    witness = b"\x52" + b"".join(b"\x21" + k for k in keys) + b"\x53\xae"
    script = p2wsh_script(hashlib.sha256(witness).digest())
    claims = [*CHANGE_5[:2], (ATTACKER_KEY, ATTACKER_FINGERPRINT, CHANGE_5[2][2])]
    match = wallet.match_derivation(script, claims)
    assert match.outcome is MatchOutcome.NOT_PROVEN
    assert match.reasons == ("SCRIPT_MISMATCH", "FOREIGN_KEY")
    # Even when the attacker labels its key with our third fingerprint and path, the key does not match.
    disguised = [*CHANGE_5[:2], (ATTACKER_KEY, CHANGE_5[2][1], CHANGE_5[2][2])]
    match = wallet.match_derivation(script, disguised)
    assert match.reasons == ("SCRIPT_MISMATCH", "PUBKEY_MISMATCH")


def test_a_foreign_key_listed_for_our_own_script_is_not_proven(wallet: Descriptor) -> None:
    change_5 = bytes.fromhex(MULTISIG["change"][5]["script_pubkey"])
    claims = [*CHANGE_5, (ATTACKER_KEY, ATTACKER_FINGERPRINT, (0,))]
    match = wallet.match_derivation(change_5, claims)
    assert (match.outcome, match.reasons) == (MatchOutcome.NOT_PROVEN, ("FOREIGN_KEY",))
    relabelled = [*CHANGE_5[:2], (CHANGE_5[2][0], ATTACKER_FINGERPRINT, CHANGE_5[2][2])]
    assert wallet.match_derivation(change_5, relabelled).reasons == ("FINGERPRINT_MISMATCH",)


def test_inconsistent_or_foreign_paths_are_not_proven(wallet: Descriptor) -> None:
    change_5 = bytes.fromhex(MULTISIG["change"][5]["script_pubkey"])
    moved = [CHANGE_5[0], (CHANGE_5[1][0], CHANGE_5[1][1], (*CHANGE_5[1][2][:-1], 6))]
    assert wallet.match_derivation(change_5, moved).reasons == ("INDEX_INCONSISTENT",)
    other_account = [(CHANGE_5[0][0], CHANGE_5[0][1], (48 | H, H, 1 | H, 2 | H, 1, 5))]
    match = wallet.match_derivation(change_5, other_account)
    assert match.outcome is MatchOutcome.NOT_PROVEN
    assert "PATH_OUTSIDE_DESCRIPTOR" in match.reasons
    hardened_index = [(CHANGE_5[0][0], CHANGE_5[0][1], (*CHANGE_5[0][2][:-1], 5 | H))]
    assert wallet.match_derivation(change_5, hardened_index).outcome is MatchOutcome.NOT_PROVEN
    third_branch = [(CHANGE_5[0][0], CHANGE_5[0][1], (*CHANGE_5[0][2][:-2], 2, 5))]
    assert wallet.match_derivation(change_5, third_branch).outcome is MatchOutcome.NOT_PROVEN


def _claims_of(descriptor: Descriptor, branch: int, index: int) -> list[tuple[bytes, bytes, tuple[int, ...]]]:
    return [(key.pubkey_at(branch, index), key.fingerprint, key.full_path(branch, index)) for key in descriptor.keys]


def _mixed() -> Descriptor:
    """2-of-2 of a ranged xpub and a fixed recovery key (with its origin): the fixed key is at every index."""
    recovery = "[deadbeef/48h/0h/0h/2h/9/9]0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600"
    return parse_descriptor(f"wsh(multi(2,[0badf00d/48h/0h/0h/2h]{XPUB}/<0;1>/*,{recovery}))")


def test_a_fixed_key_beside_ranged_keys_is_claimed_at_every_index() -> None:
    mixed = _mixed()
    claims = _claims_of(mixed, 1, 5)
    assert claims[1][2] == (48 | H, H, H, 2 | H, 9, 9)  # the fixed key's path names no index
    for ordered in (claims, claims[::-1], claims[:1]):
        match = mixed.match_derivation(mixed.script_at(5, 1), ordered)
        assert (match.outcome, match.branch, match.index) == (MatchOutcome.PROVEN, 1, 5), ordered
    moved = [(claims[0][0], claims[0][1], (*claims[0][2][:-1], 6)), claims[1]]
    assert mixed.match_derivation(mixed.script_at(5, 1), moved).outcome is MatchOutcome.NOT_PROVEN
    # The fixed key alone does not say which index is meant: nothing is proven.
    assert mixed.match_derivation(mixed.script_at(5, 1), claims[1:]).outcome is MatchOutcome.NOT_PROVEN


_MUTATION_KINDS = ["drop", "index", "branch", "fingerprint", "pubkey", "foreign", "xpub_fp", "swap"]
_MUTATIONS = st.lists(st.tuples(st.sampled_from(_MUTATION_KINDS), st.integers(0, 5)), max_size=3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.sampled_from(["multisig", "mixed", "taproot"]),
    branch=st.integers(0, 1),
    index=st.integers(0, 40),
    mutations=_MUTATIONS,
    script_index=st.integers(0, 40),
)
def test_the_quick_proof_agrees_with_the_full_analysis(
    which: str, branch: int, index: int, mutations: list[tuple[str, int]], script_index: int
) -> None:
    """match_derivation decides the common case with set look-ups; on every claim set, mutated or not, it must
    reach the verdict the full analysis reaches alone."""
    descriptor = {
        "multisig": lambda: parse_descriptor(MULTISIG["descriptor"], "mainnet"),
        "mixed": _mixed,
        "taproot": lambda: parse_descriptor(f"tr([0badf00d/86h/0h/0h]{XPUB}/<0;1>/*)"),
    }[which]()
    claims = _claims_of(descriptor, branch, index)
    for kind, at in mutations:
        if not claims:
            break
        place = at % len(claims)
        pubkey, fingerprint, path = claims[place]
        if kind == "drop":
            del claims[place]
        elif kind == "index" and path:
            claims[place] = (pubkey, fingerprint, (*path[:-1], path[-1] + 1))
        elif kind == "branch" and len(path) >= 2:
            claims[place] = (pubkey, fingerprint, (*path[:-2], 1 - path[-2] if path[-2] < 2 else 0, path[-1]))
        elif kind == "fingerprint":
            claims[place] = (pubkey, ATTACKER_FINGERPRINT, path)
        elif kind == "pubkey":
            claims[place] = (ATTACKER_KEY[-len(pubkey) :], fingerprint, path)
        elif kind == "foreign":
            claims.append((ATTACKER_KEY, ATTACKER_FINGERPRINT, (84 | H, H, H, 0, at)))
        elif kind == "xpub_fp" and descriptor.keys[0].xpub is not None and place == 0:
            key = descriptor.keys[0]  # the same key named by the xpub's own fingerprint and the steps below it
            claims[place] = (pubkey, key.xpub.fingerprint, path[len(key.origin_path) :])
        elif kind == "swap":
            claims.reverse()
    script = descriptor.script_at(script_index, branch)
    quick = descriptor.match_derivation(script, claims)
    full = Descriptor._proven_at_a_glance
    try:
        Descriptor._proven_at_a_glance = lambda self, script_pubkey, entries: None  # type: ignore[method-assign]
        alone = descriptor.match_derivation(script, claims)
    finally:
        Descriptor._proven_at_a_glance = full  # type: ignore[method-assign]
    assert quick == alone
    if not mutations and script_index == index:
        assert quick.outcome is MatchOutcome.PROVEN


def test_every_reason_is_documented() -> None:
    assert set(MATCH_REASONS) == {
        "PATH_OUTSIDE_DESCRIPTOR",
        "INDEX_INCONSISTENT",
        "SCRIPT_MISMATCH",
        "PUBKEY_MISMATCH",
        "FOREIGN_KEY",
        "FINGERPRINT_MISMATCH",
    }
    assert all(en and ja for en, ja in [*MATCH_REASONS.values(), *NOTE_MESSAGES.values()])
    doc = (Path(__file__).parents[3] / "docs" / "verify.md").read_text("utf-8")
    for code, (en, ja) in MATCH_REASONS.items():  # the table a reader of CHANGE_NOT_OURS is sent to
        assert f"| `{code}` | {en} | {ja} |" in doc


@pytest.mark.parametrize(
    "entry",
    [
        ("not a tuple",),
        (b"\x02" * 33, b"\x00" * 3, (0,)),
        (b"\x02" * 31, b"\x00" * 4, (0,)),
        (b"\x02" * 33, b"\0" * 4, (-1,)),
    ],
)
def test_malformed_derivations_are_refused(wallet: Descriptor, entry: Any) -> None:
    with pytest.raises(InputError) as exc:
        wallet.match_derivation(b"", [entry])
    assert exc.value.code == "DESCRIPTOR_DERIVATION_INVALID"


def test_taproot_derivations_are_x_only() -> None:
    descriptor = parse_descriptor(f"tr([0badf00d/86h/0h/0h]{XPUB}/<0;1>/*)")
    internal = descriptor.keys[0].pubkey_at(1, 2)
    assert len(internal) == 32
    path = (86 | H, H, H, 1, 2)
    match = descriptor.match_derivation(descriptor.script_at(2, 1), [(internal, bytes.fromhex("0badf00d"), path)])
    assert (match.outcome, match.branch, match.index) == (MatchOutcome.PROVEN, 1, 2)
    other = descriptor.script_at(3, 1)
    assert descriptor.match_derivation(other, [(internal, bytes.fromhex("0badf00d"), path)]).reasons == (
        "SCRIPT_MISMATCH",
    )


def test_find_index_scans_a_bounded_window(wallet: Descriptor) -> None:
    fresh = parse_descriptor(MULTISIG["descriptor"])
    change_7 = bytes.fromhex(MULTISIG["change"][7]["script_pubkey"])
    assert fresh.find_index(change_7) == (1, 7)
    assert fresh.find_index(change_7, branches=(0,), gap=20) is None
    assert fresh.find_index(change_7, branches=(1,), gap=7) is None
    assert fresh.find_index(change_7, gap=8) == (1, 7)
    assert fresh.find_index(p2wsh_script(bytes(32)), gap=30) is None
    with pytest.raises(InputError):
        fresh.find_index(change_7, branches=(2,))
    assert wallet.find_index(bytes.fromhex(MULTISIG["receive"][19]["script_pubkey"])) == (0, 19)


def test_fixed_descriptors_have_index_zero_only() -> None:
    descriptor = parse_descriptor("addr(3PUNyaW7M55oKWJ3kDukwk9bsKvryra15j)")
    script = descriptor.script_at(0)
    assert descriptor.find_index(script) == (0, 0)
    assert descriptor.network is Network.MAINNET
    assert descriptor.match_derivation(script, []).outcome is MatchOutcome.EXTERNAL
    with pytest.raises(InputError) as exc:
        descriptor.script_at(1)
    assert exc.value.code == "DESCRIPTOR_INDEX_INVALID"


@pytest.mark.parametrize(("index", "branch"), [(-1, 0), (1 << 31, 0), (0, 2), (0, -1), (True, 0)])
def test_positions_outside_the_descriptor(wallet: Descriptor, index: Any, branch: int) -> None:
    with pytest.raises(InputError) as exc:
        wallet.script_at(index, branch)
    assert exc.value.code == "DESCRIPTOR_INDEX_INVALID"


# --- refusals and notes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [f"wpkh({XPUB}/1h/*)", f"wpkh({XPUB}/*h)", f"wpkh({XPUB}/*')", f"wsh(sortedmulti(1,{XPUB}/<0h;1h>/*))"],
)
def test_hardened_steps_after_an_xpub_are_refused(text: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_descriptor(text)
    assert exc.value.code == "DESCRIPTOR_HARDENED_AFTER_XPUB"


def test_wrong_network_is_refused() -> None:
    with pytest.raises(InputError) as exc:
        parse_descriptor(MULTISIG["descriptor"], Network.TESTNET)
    assert exc.value.code == "DESCRIPTOR_NETWORK_MISMATCH"
    with pytest.raises(InputError) as exc:
        parse_descriptor(WALLETS["testnet_wpkh"]["descriptor"], "mainnet")
    assert exc.value.code == "DESCRIPTOR_NETWORK_MISMATCH"
    tpub = WALLETS["testnet_wpkh"]["descriptor"].split("]")[1].split("/")[0]
    with pytest.raises(InputError) as exc:
        parse_descriptor(f"wsh(multi(1,{XPUB}/*,{tpub}/*))")
    assert exc.value.code == "DESCRIPTOR_NETWORK_MISMATCH"
    with pytest.raises(InputError) as exc:
        parse_descriptor("addr(3PUNyaW7M55oKWJ3kDukwk9bsKvryra15j)", Network.REGTEST)
    assert exc.value.code == "DESCRIPTOR_NETWORK_MISMATCH"


@pytest.mark.parametrize("network", [Network.TESTNET, Network.SIGNET, Network.REGTEST])
def test_test_networks_share_tpub_keys(network: Network) -> None:
    descriptor = parse_descriptor(WALLETS["testnet_wpkh"]["descriptor"], network)
    assert descriptor.network is network
    for entry in WALLETS["testnet_wpkh"]["addresses"]:
        assert descriptor.address_at(entry["index"], entry["branch"]) == entry[network.value]
    nested = parse_descriptor(WALLETS["testnet_sh_wpkh"]["descriptor"])
    assert nested.network is None  # a tpub names no single test network
    for entry in WALLETS["testnet_sh_wpkh"]["addresses"]:
        expected = entry["regtest" if network is Network.REGTEST else "testnet"]
        assert nested.address_at(entry["index"], 0, network) == expected
    with pytest.raises(InputError) as exc:
        nested.address_at(0)
    assert exc.value.code == "FIELD_MISSING"


@pytest.mark.parametrize("vector", SLIP132, ids=lambda v: v["key"][:4])
def test_slip132_keys_in_descriptors(vector: dict[str, Any]) -> None:
    descriptor = parse_descriptor(vector["descriptor_template"].format(key=vector["key"]))
    assert descriptor.address_at(0) == vector["address"]
    assert descriptor.notes == (() if vector["key"].startswith("xpub") else ("SLIP132_VERSION",))
    if not vector["key"].startswith("xpub"):
        mismatched = parse_descriptor(f"pkh({vector['key']}/0/0)")
        assert mismatched.notes == ("SLIP132_VERSION", "SLIP132_SCRIPT_MISMATCH")


def test_nested_scripts_expose_redeem_and_witness_scripts() -> None:
    multisig = MULTISIG["descriptor"].replace("wsh(", "sh(wsh(", 1) + ")"
    nested = parse_descriptor(multisig)
    witness = nested.witness_script_at(0, 1)
    redeem = nested.redeem_script_at(0, 1)
    assert witness is not None
    assert witness.hex() == MULTISIG["change"][0]["witness_script"]
    assert redeem == p2wsh_script(hashlib.sha256(witness).digest())
    assert nested.script_at(0, 1) == p2sh_script(hash160(redeem))
    assert nested.kind is ScriptKind.P2SH


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("combo(0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600)", "DESCRIPTOR_UNSUPPORTED"),
        ("rawtr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)", "DESCRIPTOR_UNSUPPORTED"),
        (
            "wsh(and_v(v:pk(0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600),older(144)))",
            "DESCRIPTOR_UNSUPPORTED",
        ),
        (f"tr(musig({XPUB},{XPUB})/*)", "DESCRIPTOR_UNSUPPORTED"),
        ("", "DESCRIPTOR_SYNTAX_INVALID"),
        ("wpkh(", "DESCRIPTOR_SYNTAX_INVALID"),
        (f"wpkh({XPUB}/*))", "DESCRIPTOR_SYNTAX_INVALID"),
        (f"wpkh({XPUB}/*)x", "DESCRIPTOR_SYNTAX_INVALID"),
        (
            "tr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd," + "{" * 130 + ")",
            "DESCRIPTOR_SYNTAX_INVALID",
        ),
        ("pkh(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)", "DESCRIPTOR_KEY_INVALID"),
        ("pk(020000000000000000000000000000000000000000000000000000000000000007)", "DESCRIPTOR_KEY_INVALID"),
        (f"wpkh({XPUB[:-1]}X/*)", "DESCRIPTOR_KEY_INVALID"),
        (f"wpkh({XPUB}/*)#89f8spxm", "DESCRIPTOR_CHECKSUM_INVALID"),
        ("raw()", "DESCRIPTOR_ARGUMENT_INVALID"),
        ("raw(de ad)", "DESCRIPTOR_ARGUMENT_INVALID"),
        (f"multi(1,{XPUB}/0,{XPUB}/1,{XPUB}/2,{XPUB}/3)", "DESCRIPTOR_ARGUMENT_INVALID"),
        (f"wsh(multi(1,{','.join([XPUB + '/0'] * 21)}))", "DESCRIPTOR_ARGUMENT_INVALID"),
        (f"wsh(multi(1,{XPUB}/<0;1>/*,{XPUB}/<0;1;2>/*))", "DESCRIPTOR_MULTIPATH_INVALID"),
        (f"wpkh({XPUB}/<0;0>/*)", "DESCRIPTOR_MULTIPATH_INVALID"),
        (f"wpkh({XPUB}/<0>/*)", "DESCRIPTOR_MULTIPATH_INVALID"),
    ],
)
def test_refusals_have_stable_codes(text: str, code: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_descriptor(text)
    assert exc.value.code == code


def test_a_checksum_can_be_required() -> None:
    with pytest.raises(InputError) as exc:
        parse_descriptor(MULTISIG["descriptor"], require_checksum=True)
    assert exc.value.code == "DESCRIPTOR_CHECKSUM_MISSING"
    assert parse_descriptor(add_checksum(MULTISIG["descriptor"]), require_checksum=True).branch_count == 2


def test_a_checksum_error_does_not_offer_the_right_checksum() -> None:
    """Printing the expected checksum would invite pasting it over a mistyped descriptor."""
    altered = MULTISIG["descriptor"].replace("sortedmulti(2", "sortedmulti(1")
    right = descriptor_checksum(altered)
    with pytest.raises(InputError) as exc:
        parse_descriptor(add_checksum(MULTISIG["descriptor"]).replace(MULTISIG["descriptor"], altered))
    assert exc.value.code == "DESCRIPTOR_CHECKSUM_INVALID"
    assert right not in json.dumps(exc.value.to_dict())


@pytest.mark.parametrize(
    "secret",
    [
        "L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1",
        "L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY2",  # mistyped: no longer a valid WIF
        "xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc",
        "[deadbeef/0h]xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc/1H/*",
        "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35",  # a raw hex private key (BIP-32 TV1 m)
    ],
)
def test_private_keys_are_never_echoed(secret: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_descriptor(f"wpkh({secret})")
    shown = json.dumps(exc.value.to_dict(), ensure_ascii=False) + str(exc.value) + exc.value.message_ja
    body = secret.rpartition("]")[2]
    assert body[4:16] not in shown
    assert body[20:40] not in shown


# --- wallet files ----------------------------------------------------------------------------------------------


def test_yaml_wallet_file(tmp_path: Path) -> None:
    file = tmp_path / "wallets.yaml"
    file.write_text(
        "wallets:\n"
        f'  - name: cold-1\n    descriptor: "{add_checksum(MULTISIG["descriptor"])}"\n'
        f'  - name: test-1\n    network: signet\n    descriptor: "{WALLETS["testnet_wpkh"]["descriptor"]}"\n',
        "utf-8",
    )
    wallets = load_wallets(file)
    assert [w.name for w in wallets] == ["cold-1", "test-1"]
    assert wallets[1].network is Network.SIGNET
    assert parse_wallet_argument(str(file))[0].script_at(0, 1).hex() == MULTISIG["change"][0]["script_pubkey"]


def test_yaml_flow_form_of_the_wallet_file() -> None:
    content = f'{{wallets: [{{name: cold-1, descriptor: "{MULTISIG["descriptor"]}"}}]}}'
    [wallet] = parse_wallets(content, "inline")
    assert wallet.name == "cold-1"
    assert wallet.branch_count == 2


def test_json_and_text_wallet_files(tmp_path: Path) -> None:
    json_file = tmp_path / "wallets.json"
    json_file.write_text(json.dumps({"wallets": [{"name": "cold-1", "descriptor": MULTISIG["descriptor"]}]}), "utf-8")
    assert load_wallets(json_file)[0].name == "cold-1"
    text_file = tmp_path / "wallets.txt"
    text_file.write_text(
        f"# the exchange's cold wallet\n\n{add_checksum(MULTISIG['descriptor'])}   # 2-of-3\n"
        f"   {WALLETS['testnet_sh_wpkh']['descriptor']}\n",
        "utf-8",
    )
    first, second = load_wallets(text_file)
    assert (first.name, first.network, second.network) == (None, Network.MAINNET, None)
    with pytest.raises(InputError) as exc:
        load_wallets(text_file, network="regtest")
    assert "line 3: DESCRIPTOR_NETWORK_MISMATCH" in exc.value.details["reason"]


def test_text_wallet_file_names_the_bad_line(tmp_path: Path) -> None:
    file = tmp_path / "wallets.txt"
    file.write_text(f"# cold\n{MULTISIG['descriptor']}\nwpkh(xpub-not-a-key)\n", "utf-8")
    with pytest.raises(InputError) as exc:
        load_wallets(file)
    assert exc.value.code == "DESCRIPTOR_WALLET_FILE_INVALID"
    assert "line 3" in exc.value.details["reason"]


@pytest.mark.parametrize(
    "content",
    [
        "",
        "# only comments\n",
        "wallets: 3\n",
        "wallets:\n  - name: a\n",
        "wallets:\n  - {name: a, descriptor: 'raw(00)'}\n  - {name: a, descriptor: 'raw(01)'}\n",
        "wallets:\n  - {name: a, descriptor: 'raw(00)', key: x}\n",
        "{not json",
        "raw(00) and more\n",
    ],
)
def test_bad_wallet_files(content: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_wallets(content, "wallets.yaml")
    assert exc.value.code == "DESCRIPTOR_WALLET_FILE_INVALID"


def test_wallet_argument_is_a_file_or_a_descriptor(tmp_path: Path) -> None:
    [descriptor] = parse_wallet_argument(MULTISIG["descriptor"])
    assert descriptor.branch_count == 2
    with pytest.raises(InputError) as exc:
        parse_wallet_argument(str(tmp_path / "missing.yaml"))
    assert exc.value.code == "INPUT_UNREADABLE"
    with pytest.raises(InputError) as exc:
        load_wallets(tmp_path / "missing.yaml")
    assert exc.value.code == "INPUT_UNREADABLE"


# --- hostile input ---------------------------------------------------------------------------------------------

_DESCRIPTOR_ALPHABET = "0123456789()[],'/*abcdefgh<>;{}#hxpubtrwshkmultiorted_"


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), st.text(alphabet=_DESCRIPTOR_ALPHABET, max_size=200)))
def test_arbitrary_text_raises_only_mamori_errors(text: str) -> None:
    try:
        descriptor = parse_descriptor(text)
    except MamoriError:
        return
    descriptor.script_at(0)


_SEEDS = [MULTISIG["descriptor"], WALLETS["testnet_sh_wpkh"]["descriptor"]] + [
    public_form(v["descriptor"]) for v in VECTORS["valid"][::3]
]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_SEEDS),
    st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from([*",()[]{}/<>;*'h#0123abx", ""])), max_size=4),
)
def test_mutated_descriptors_raise_only_mamori_errors(seed: str, edits: list[tuple[int, str]]) -> None:
    text = seed
    for position, char in edits:
        at = position % (len(text) + 1)
        text = text[:at] + char + text[at + 1 :]
    try:
        descriptor = parse_descriptor(text)
    except MamoriError:
        return
    for branch in range(descriptor.branch_count):
        descriptor.script_at(0, branch)

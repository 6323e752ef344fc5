"""Bitcoin transactions: round trips of published transactions, txids against published ids, strictness."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.bitcoin.builders import load, load_bip174
from mamori.chains.bitcoin.transaction import (
    Transaction,
    TxIn,
    TxOut,
    compact_size,
    display_hex,
    parse_transaction,
    read_compact_size,
    serialize_transaction,
    txid,
    txid_hex,
    wtxid,
)
from mamori.errors import DecodeError

BIP143 = load("bip143_vectors.json")
BIP341 = load("bip341_keypath_vectors.json")["keyPathSpending"][0]
LEGACY = load("legacy_sighash_vectors.json")
BIP174 = load_bip174()


def _published_transactions() -> list[tuple[str, str]]:
    found = [(f"bip143 {case['name']} unsigned", case["unsigned_tx"]) for case in BIP143["cases"]]
    found += [(f"bip143 {case['name']} signed", case["signed_tx"]) for case in BIP143["cases"]]
    found += [("bip341 unsigned", BIP341["rawUnsignedTx"]), ("bip341 fully signed", BIP341["fullySignedTx"])]
    found += [(f"core sighash.json #{number}", case[0]) for number, case in enumerate(LEGACY["cases"])]
    found += [
        (f"bip174 previous tx {n}", raw) for n, raw in enumerate(BIP174["roles_context"]["updater"]["previous_txs"])
    ]
    found.append(("bip174 final tx", BIP174["final_tx_hex"]))
    return found


@pytest.mark.parametrize(("name", "raw"), _published_transactions(), ids=lambda value: str(value)[:40])
def test_published_transactions_round_trip(name: str, raw: str) -> None:
    data = bytes.fromhex(raw)
    tx = parse_transaction(data)
    assert serialize_transaction(tx) == data, name
    if tx.has_witness:
        stripped = parse_transaction(serialize_transaction(tx, witness=False))
        assert stripped.inputs == tuple(txin._replace(witness=()) for txin in tx.inputs)
        assert txid(tx) != wtxid(tx)
    else:
        assert txid(tx) == wtxid(tx)


def test_txids_match_the_ids_the_bip174_walkthrough_spends() -> None:
    """The two previous transactions are spent by txid in the walk-through: one legacy, one with witnesses."""
    previous = [parse_transaction(bytes.fromhex(raw)) for raw in BIP174["roles_context"]["updater"]["previous_txs"]]
    spent = [item["txid"] for item in BIP174["roles_context"]["creator"]["inputs"]]
    # the first is a segwit transaction: its txid must leave the witness out (its wtxid differs)
    assert previous[0].has_witness
    assert not previous[1].has_witness
    assert txid_hex(previous[0]) == spent[1] == "1dea7cd05979072a3578cab271c02244ea8a090bbb46aa680a65ecd027048d83"
    assert txid_hex(previous[1]) == spent[0] == "75ddabb27b8845f5247975c8a5ba7c6f336c4570708ebe230caf6db5217ae858"
    assert display_hex(wtxid(previous[0])) != spent[1]
    assert txid(previous[1]) == bytes.fromhex(spent[0])[::-1]


def test_witness_stacks_are_read_per_input() -> None:
    case = next(case for case in BIP143["cases"] if case["name"] == "native_p2wpkh")
    tx = parse_transaction(bytes.fromhex(case["signed_tx"]))
    assert tx.version == 1
    assert tx.locktime == 0x11
    assert tx.inputs[0].witness == ()
    assert tx.inputs[0].script_sig.hex().startswith("4830450221008b9d1d")
    signature, pubkey = tx.inputs[1].witness
    assert signature.hex() == case["checks"][0]["signature"]
    assert pubkey.hex() == case["checks"][0]["pubkey"]
    assert tx.inputs[0].sequence == 0xFFFFFFEE
    assert tx.outputs[0] == TxOut(112340000, bytes.fromhex("76a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac"))


def _codes(data: bytes, *, witness: bool = True) -> str:
    with pytest.raises(DecodeError) as exc:
        parse_transaction(data, witness=witness)
    return exc.value.code


SIMPLE = bytes.fromhex(BIP143["cases"][1]["unsigned_tx"])  # one input, two outputs, no witness


def test_every_truncation_is_refused() -> None:
    for cut in range(len(SIMPLE)):
        assert _codes(SIMPLE[:cut]) == "BTC_TX_TRUNCATED", cut


def test_trailing_bytes_are_refused() -> None:
    assert _codes(SIMPLE + b"\x00") == "BTC_TX_TRAILING_DATA"


def test_non_minimal_compact_sizes_are_refused() -> None:
    # the input count (1) written as 0xfd 0x01 0x00
    widened = SIMPLE[:4] + b"\xfd\x01\x00" + SIMPLE[5:]
    assert _codes(widened) == "BTC_COMPACT_SIZE_NONCANONICAL"
    for encoded in (b"\xfd\xfc\x00", b"\xfe\xff\xff\x00\x00", b"\xff\xff\xff\xff\xff\x00\x00\x00\x00"):
        with pytest.raises(DecodeError) as exc:
            read_compact_size(encoded, 0, len(encoded))
        assert exc.value.code == "BTC_COMPACT_SIZE_NONCANONICAL"


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_compact_size_round_trips(value: int) -> None:
    encoded = compact_size(value)
    assert read_compact_size(encoded, 0, len(encoded)) == (value, len(encoded))


def test_segwit_marker_rules() -> None:
    signed = bytes.fromhex(BIP143["cases"][1]["signed_tx"])
    assert signed[4:6] == b"\x00\x01"
    assert _codes(signed[:5] + b"\x02" + signed[6:]) == "BTC_TX_INVALID"  # unknown flag
    # marker and flag, but every witness stack empty: Core refuses it as a superfluous witness record
    tx = parse_transaction(signed)
    emptied = serialize_transaction(tx, witness=False)
    superfluous = emptied[:4] + b"\x00\x01" + emptied[4:-4] + b"\x00" + emptied[-4:]
    assert _codes(superfluous) == "BTC_TX_INVALID"


def test_a_zero_byte_after_the_version_is_an_input_count_without_witness() -> None:
    """BIP-174's 0-input vectors: the unsigned transaction is read strictly without the segwit marker."""
    zero_inputs = bytes.fromhex("02000000000100e1f50500000000160014" + "00" * 20 + "00000000")
    tx = parse_transaction(zero_inputs, witness=False)
    assert tx.inputs == ()
    assert len(tx.outputs) == 1
    # read with witnesses allowed, the same bytes are a marker and flag, and then nonsense
    assert _codes(zero_inputs) in {"BTC_TX_TRUNCATED", "BTC_TX_INVALID"}
    # Core reads 0x00 0x00 after the version as no inputs and no outputs
    empty = bytes.fromhex("01000000000000000000")
    assert parse_transaction(empty) == Transaction(1, (), (), 0)


def test_counts_larger_than_the_data_are_refused_before_allocating() -> None:
    assert _codes(b"\x01\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x7f") == "BTC_TX_TRUNCATED"


def test_serialization_of_built_transactions() -> None:
    txin = TxIn(bytes(range(32)), 7, b"", 0xFFFFFFFD)
    tx = Transaction(2, (txin,), (TxOut(5000, b"\x51"),), 800_000)
    raw = serialize_transaction(tx)
    assert raw.hex() == ("0200000001" + bytes(range(32)).hex() + "0700000000fdffffff018813000000000000015100350c00")
    assert parse_transaction(raw) == tx
    witnessed = tx._replace(inputs=(txin._replace(witness=(b"\x01", b"")),))
    assert serialize_transaction(witnessed)[4:6] == b"\x00\x01"
    assert parse_transaction(serialize_transaction(witnessed)) == witnessed
    assert txid(witnessed) == txid(tx)

"""Property tests of the Bitcoin decoders: hostile bytes in, only MamoriError out; what parses, re-serializes.

The contract: ``decode_psbt_text``, ``parse_psbt`` and ``parse_transaction`` return a value or raise
:class:`mamori.errors.MamoriError`, never IndexError, ValueError, struct.error, OverflowError or RecursionError; and
for anything that parses, ``locktime``, ``unsigned_transaction``, ``unsigned_txid`` and the signature checks never
raise anything else either (missing or wrong data is reported, not raised).
"""

from __future__ import annotations

import base64
import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chains.bitcoin.builders import build_psbt, load, load_bip174, multisig_psbt
from mamori.chains.bitcoin.psbt import (
    MAGIC,
    Psbt,
    decode_psbt_text,
    locktime,
    parse_psbt,
    unsigned_transaction,
    unsigned_txid,
)
from mamori.chains.bitcoin.signatures import check_all_signatures
from mamori.chains.bitcoin.transaction import parse_transaction, serialize_transaction
from mamori.errors import MamoriError
from support.mutations import mutations

BIP174 = load_bip174()
BIP370 = load("bip370_vectors.json")
SEEDS: list[bytes] = [
    *(base64.b64decode(vector["base64"]) for vector in BIP174["valid"] + BIP174["roles"]),
    *(bytes.fromhex(vector["hex"]) for vector in BIP370["valid"] + BIP370["locktime"]),
    multisig_psbt(),
]
TRANSACTIONS: list[bytes] = [bytes.fromhex(case["signed_tx"]) for case in load("bip143_vectors.json")["cases"]] + [
    bytes.fromhex(BIP174["final_tx_hex"])
]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _use(psbt: Psbt) -> None:
    """Everything a caller does with a parsed PSBT: only MamoriError may come out."""
    with contextlib.suppress(MamoriError):  # version 2 whose lock times conflict
        locktime(psbt)
        unsigned_transaction(psbt)
        unsigned_txid(psbt)
    assert len(check_all_signatures(psbt)) == len(psbt.inputs)


def _parse_or_refuse(data: bytes) -> Psbt | None:
    try:
        return parse_psbt(data)
    except MamoriError:
        return None


@SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes_parse_or_raise_mamori_errors(data: bytes) -> None:
    for decoder in (parse_transaction, decode_psbt_text):
        with contextlib.suppress(MamoriError):
            decoder(data)
    psbt = _parse_or_refuse(MAGIC + data)
    if psbt is not None:
        _use(psbt)


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text_decodes_or_raises_mamori_errors(text: str) -> None:
    with contextlib.suppress(MamoriError):
        decode_psbt_text(text)


@SETTINGS
@given(st.binary(max_size=400), st.booleans())
def test_whatever_parses_as_a_transaction_serializes_back(data: bytes, witness: bool) -> None:
    """Only canonical encodings are accepted: a parsed transaction is its bytes, not one of many readings."""
    try:
        tx = parse_transaction(data, witness=witness)
    except MamoriError:
        return
    assert serialize_transaction(tx, witness=witness) == data


@SETTINGS
@given(mutations(SEEDS))
def test_mutated_psbts_parse_or_raise_mamori_errors(data: bytes) -> None:
    psbt = _parse_or_refuse(data)
    if psbt is not None:
        _use(psbt)


@SETTINGS
@given(mutations(TRANSACTIONS))
def test_mutated_transactions_parse_or_raise_mamori_errors(data: bytes) -> None:
    try:
        tx = parse_transaction(data)
    except MamoriError:
        return
    assert serialize_transaction(tx) == data


_KEY_TYPES = st.sampled_from([*range(0x1A), 0xFB, 0xFC, 0xFD])


@st.composite
def field_maps(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """Maps of fields of the defined types (and some others) with key data and values of plausible sizes."""
    pairs = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        key = bytes((draw(_KEY_TYPES),)) + draw(st.sampled_from([b"", b"\x02" + bytes(32), bytes(32), bytes(20)]))
        value = draw(st.one_of(st.binary(max_size=70), st.sampled_from([bytes(4), bytes(8), bytes(32), bytes(64)])))
        pairs.append((key, value))
    return pairs


@SETTINGS
@given(
    st.sampled_from([bytes(4), (2).to_bytes(4, "little")]),
    st.lists(field_maps(), max_size=3),
    st.lists(field_maps(), max_size=3),
)
def test_structured_maps_parse_or_raise_mamori_errors(
    version: bytes, inputs: list[list[tuple[bytes, bytes]]], outputs: list[list[tuple[bytes, bytes]]]
) -> None:
    header = [
        (b"\xfb", version),
        (b"\x02", (2).to_bytes(4, "little")),
        (b"\x04", bytes((len(inputs),))),
        (b"\x05", bytes((len(outputs),))),
    ]
    psbt = _parse_or_refuse(build_psbt(header, inputs, outputs))
    if psbt is not None:
        _use(psbt)

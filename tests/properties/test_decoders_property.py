"""Property tests: hostile bytes and JSON never crash the decoders or the verifier.

The contract under test is the error model: a decoder either returns a value or raises
:class:`mamori.errors.MamoriError`; never ValueError, TypeError, KeyError, IndexError, OverflowError or
RecursionError. And ``verify_safe_tx`` never raises on a record that parsed: everything wrong with a parsed
record is a finding.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import eth_abi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.chains.evm.abi import SUPPORTED_TYPES, decode_args
from mamori.chains.evm.encoding import to_checksum_address
from mamori.chains.evm.safe.multisend import MultiSendEntry, decode_multisend, encode_multisend
from mamori.chains.evm.safe.record import parse_safe_tx_record
from mamori.chains.evm.safe.signatures import pack_signatures, split_signatures
from mamori.chains.evm.safe.versions import SUPPORTED_VERSIONS, parse_safe_version
from mamori.errors import MamoriError
from mamori.verify import functions as fn
from mamori.verify.calls import CallContext, decode_call
from mamori.verify.context import SafeBook, SafeContext
from mamori.verify.model import Finding, Severity
from mamori.verify.registry import ContractRegistry
from mamori.verify.safe import verify_safe_tx

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
SHARED_BYBIT = REPO / ".." / "shared" / "data" / "safe" / "bybit-safe-tx-71.json"
SAMPLE_BYBIT = REPO / "src" / "mamori" / "content" / "samples" / "bybit-safe-tx-71.json"
BYBIT_RECORDS: list[dict[str, Any]] = json.loads(
    (SHARED_BYBIT if SHARED_BYBIT.exists() else SAMPLE_BYBIT).read_text(encoding="utf-8")
)["results"]

SAFE = bytes.fromhex("1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4")
LIBRARIES = {
    "40A2aCCbd92BCA938b02010E17A5b8929b49130D": ("MultiSendCallOnly", "1.3.0", "multisend_call_only"),
    "A238CBeb142c10Ef7Ad8442C6D1f9E89e07e7761": ("MultiSend", "1.3.0", "multisend"),
    "A65387F16B013cf2Af4605Ad8aA5ec25a2cbA3a2": ("SignMessageLib", "1.3.0", "sign_message_lib"),
    "526643F69b81B008F46d95CD5ced5eC0edFFDaC6": ("SafeMigration", "1.4.1", "safe_migration"),
    "A83c336B20401Af773B6219BA5027174338D1836": ("MultiSendCallOnly", "1.5.0", "multisend_call_only"),
}
REGISTRY = ContractRegistry.from_document(
    {
        "contracts": [
            {"name": name, "version": version, "address": "0x" + address, "role": role}
            for address, (name, version, role) in LIBRARIES.items()
        ]
    }
)
ADDRESSES = [SAFE, bytes(20), b"\x11" * 20, *(bytes.fromhex(a) for a in LIBRARIES)]
OWNERS = frozenset(
    bytes.fromhex(a)
    for a in (
        "1F4EB0a903619ac168b19A82F1a6e2e426522211",
        "3Cc3A225769900e003E264dd4CB43E90896BC21A",
        "e3dF2cCEAc61B1aFA311372ecC5B40A3A6585a9E",
    )
)
SELECTORS = sorted(fn.ALL_FUNCTIONS)
RECORD_FIELDS = sorted({key for record in BYBIT_RECORDS for key in record})
SNAKE_FIELDS = [
    "safe_tx_gas",
    "base_gas",
    "data_gas",
    "dataGas",
    "gas_price",
    "gas_token",
    "refund_receiver",
    "safe_tx_hash",
    "confirmations_required",
]


def only_mamori_errors(function: Callable[..., T], *args: Any) -> T | None:
    """Call ``function``; a MamoriError is an accepted outcome, any other exception fails the test."""
    try:
        return function(*args)
    except MamoriError as exc:
        assert exc.code  # a documented code (the constructor refuses others)
        json.dumps(exc.to_dict())
        return None


# --- strategies -------------------------------------------------------------------------------------------

words = st.one_of(
    st.sampled_from([0, 1, 2, 27, 31, 32, 64, 65, 96, 130, 255, 256, 2**128 - 1, 2**160, 2**255, 2**256 - 1]),
    st.integers(0, 2**256 - 1),
    st.builds(lambda a: int.from_bytes(a, "big"), st.sampled_from(ADDRESSES)),
).map(lambda number: number.to_bytes(32, "big"))


@st.composite
def signature_blobs(draw: st.DrawFn) -> bytes:
    """Mostly well-shaped 65-byte parts with interesting v and small offsets, then optional junk."""
    count = draw(st.integers(0, 4))
    parts = []
    for _ in range(count):
        r = draw(st.one_of(st.integers(0, 2**160 - 1), st.integers(0, 2**256 - 1)))
        s = draw(st.one_of(st.integers(0, 65 * count + 96), st.integers(0, 2**256 - 1)))
        v = draw(st.sampled_from([0, 1, 2, 26, 27, 28, 29, 30, 31, 32, 33, 255]))
        parts.append(r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((v,)))
    tail = draw(st.one_of(st.just(b""), st.binary(max_size=80), words.map(lambda w: w + b"\xab" * 40)))
    return b"".join(parts) + tail


def _calldata(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    plain = st.builds(
        lambda selector, body, junk: selector + b"".join(body) + junk,
        st.sampled_from(SELECTORS),
        st.lists(words, max_size=12),
        st.one_of(st.just(b""), st.binary(max_size=40)),
    )
    entry = st.builds(
        MultiSendEntry,
        st.sampled_from([0, 0, 1, 1, 2]),
        st.sampled_from(ADDRESSES),
        st.sampled_from([0, 1, 10**18]),
        children,
    )
    batch = st.builds(
        lambda entries, cut: fn.MULTI_SEND.selector + eth_abi.encode(["bytes"], [encode_multisend(entries)[:cut]]),
        st.lists(entry, max_size=4),
        st.one_of(st.none(), st.integers(0, 400)),
    )
    return st.one_of(plain, batch, st.binary(max_size=100))


calldata = st.recursive(st.one_of(st.just(b""), st.binary(max_size=40)), _calldata, max_leaves=8)


def _hex(blob: bytes) -> str:
    return "0x" + blob.hex()


interesting_strings = st.one_of(
    st.sampled_from(
        [
            "",
            "0x",
            "0X",
            "0x0",
            "0xzz",
            "-1",
            "+1",
            "1.5",
            "1e18",
            " 7 ",
            "0x" + "f" * 65,
            "１２",
            "1.3.0",
            "APPROVED_HASH",
            "ETH_SIGN",
            "null",
            "NaN",
        ]
    ),
    st.integers(0, 2**260).map(str),
    st.integers(0, 2**260).map(hex),
    st.binary(max_size=70).map(_hex),
    st.sampled_from(ADDRESSES).map(to_checksum_address),
    st.sampled_from(ADDRESSES).map(lambda a: "0x" + a.hex()),
    st.sampled_from(ADDRESSES).map(lambda a: to_checksum_address(a).swapcase().replace("0X", "0x")),
    calldata.map(_hex),
    signature_blobs().map(_hex),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**300), 2**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    interesting_strings,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=8), st.sampled_from(RECORD_FIELDS + SNAKE_FIELDS)), children, max_size=5
        ),
    ),
    max_leaves=12,
)


@st.composite
def confirmations(draw: st.DrawFn) -> Any:
    return draw(
        st.one_of(
            json_values,
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "owner": st.one_of(st.sampled_from(sorted(OWNERS)).map(to_checksum_address), json_scalars),
                        "signature": st.one_of(signature_blobs().map(_hex), json_scalars),
                        "signatureType": st.one_of(
                            st.sampled_from(["EOA", "ETH_SIGN", "APPROVED_HASH", "CONTRACT_SIGNATURE"]), json_scalars
                        ),
                    },
                ),
                max_size=4,
            ),
        )
    )


@st.composite
def mutated_bybit_records(draw: st.DrawFn) -> Any:
    record = copy.deepcopy(draw(st.sampled_from(BYBIT_RECORDS)))
    for key in draw(st.lists(st.sampled_from(RECORD_FIELDS + SNAKE_FIELDS), max_size=5, unique=True)):
        action = draw(st.sampled_from(["json", "string", "delete", "calldata", "signatures", "confirmations"]))
        if action == "delete":
            record.pop(key, None)
        elif action == "json":
            record[key] = draw(json_values)
        elif action == "string":
            record[key] = draw(interesting_strings)
        elif action == "calldata":
            record[key] = _hex(draw(calldata))
        elif action == "signatures":
            record[key] = _hex(draw(signature_blobs()))
        else:
            record[key] = draw(confirmations())
    # Often aim the transaction at something the decoders know.
    if draw(st.booleans()):
        record["data"] = _hex(draw(calldata))
        record["to"] = to_checksum_address(draw(st.sampled_from(ADDRESSES)))
        record["operation"] = draw(st.sampled_from([0, 1, 2, "1", 255]))
    if draw(st.booleans()):
        record["signatures"] = _hex(draw(signature_blobs()))
    return record


contexts = st.builds(
    lambda version, chain_id, owners, threshold: SafeContext(chain_id, parse_safe_version(version), owners, threshold),
    st.sampled_from(SUPPORTED_VERSIONS),
    st.one_of(st.sampled_from([1, 10, 137]), st.integers(1, 2**64)),
    st.one_of(st.none(), st.just(OWNERS), st.just(OWNERS | {b"\x11" * 20})),
    st.one_of(st.none(), st.integers(1, 5)),
)


def _check_report_shape(report: Any) -> None:
    body = report.to_json()
    json.dumps(body)
    assert body["verdict"] in ("ok", "blocked")
    severities = [item.severity for item in report.findings]
    order = list(Severity)
    assert [order.index(s) for s in severities] == sorted(order.index(s) for s in severities)
    assert report.verdict.blocked is any(s in (Severity.CRITICAL, Severity.HIGH) for s in severities)


# --- bytes into the decoders ------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=400), signature_blobs()))
def test_split_signatures_only_raises_mamori_errors(blob: bytes) -> None:
    result = only_mamori_errors(split_signatures, blob)
    if result is not None:
        assert len(result) <= len(blob) // 65
        # Whatever was accepted packs back into bytes that split to the same signatures.
        repacked = split_signatures(pack_signatures(result))
        assert [(s.kind, s.v, s.r, s.contract_data) for s in repacked] == [
            (s.kind, s.v, s.r, s.contract_data) for s in result
        ]


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=400), calldata.map(lambda d: d[36:])))
def test_decode_multisend_only_raises_mamori_errors(blob: bytes) -> None:
    result = only_mamori_errors(decode_multisend, blob)
    if result is not None:
        assert encode_multisend(result) == blob


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(sorted(SUPPORTED_TYPES)), max_size=6),
    st.one_of(st.binary(max_size=300), st.lists(words, max_size=10).map(b"".join)),
)
def test_decode_args_only_raises_mamori_errors(types: list[str], blob: bytes) -> None:
    result = only_mamori_errors(decode_args, "f", tuple(types), blob)
    if result is not None:
        assert len(result.values) == len(types)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 255),
    st.sampled_from(ADDRESSES),
    st.one_of(st.just(0), st.integers(0, 2**256 - 1)),
    calldata,
    st.sampled_from([SAFE, None, b"\x11" * 20]),
)
def test_decode_call_never_raises(operation: int, to: bytes, value: int, data: bytes, wallet: bytes | None) -> None:
    findings: list[Finding] = []
    node = decode_call(operation, to, value, data, CallContext(wallet=wallet, registry=REGISTRY), "call", findings)
    json.dumps(node.to_json())
    for item in findings:
        json.dumps(item.to_json())
        assert item.path.startswith("call")
    if operation not in (0, 1):
        assert any(item.code == "INVALID_OPERATION" for item in findings)


# --- JSON into the record parser and the verifier -----------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, contexts)
def test_arbitrary_json_records(document: Any, context: SafeContext) -> None:
    record = only_mamori_errors(parse_safe_tx_record, document)
    if record is not None:
        _check_report_shape(verify_safe_tx(record, context, REGISTRY))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_bybit_records(), contexts)
def test_mutated_bybit_records(document: Any, context: SafeContext) -> None:
    record = only_mamori_errors(parse_safe_tx_record, document)
    if record is not None:
        _check_report_shape(verify_safe_tx(record, context, REGISTRY))


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "safes": st.lists(
                    st.dictionaries(
                        st.sampled_from(["address", "chain_id", "version", "owners", "threshold"]),
                        st.one_of(json_values, interesting_strings, st.lists(interesting_strings, max_size=3)),
                    ),
                    max_size=3,
                )
            }
        ),
        st.fixed_dictionaries(
            {
                "contracts": st.lists(
                    st.dictionaries(
                        st.sampled_from(["name", "version", "variant", "address", "role"]),
                        st.one_of(json_values, interesting_strings),
                    ),
                    max_size=3,
                )
            }
        ),
    )
)
def test_context_files_only_raise_mamori_errors(document: Any) -> None:
    book = only_mamori_errors(SafeBook.from_document, document)
    if book is not None:
        for profile in book.profiles:
            assert len(profile.address) == 20
            if profile.owners is not None and profile.threshold is not None:
                assert 1 <= profile.threshold <= len(profile.owners)
    registry = only_mamori_errors(ContractRegistry.from_document, document)
    if registry is not None:
        assert all(len(address) == 20 for address in registry.by_address)


@pytest.mark.parametrize("field", ["value", "nonce", "safeTxGas", "operation", "confirmationsRequired"])
def test_record_with_a_huge_decimal_value_raises_a_mamori_error(field: str) -> None:
    """Python's int() refuses decimal strings over 4300 digits with a bare ValueError."""
    record = copy.deepcopy(BYBIT_RECORDS[1])
    record[field] = "9" * 5000
    with pytest.raises(MamoriError) as info:
        parse_safe_tx_record(record)
    assert info.value.code == "INTEGER_OUT_OF_RANGE"

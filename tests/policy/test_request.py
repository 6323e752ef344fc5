"""Withdrawal requests and facts documents: parsing at the edge, the ledger's Ed25519 signature, the --facts format."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mamori.errors import InputError, MamoriError
from mamori.policy.check import check_request, parse_facts, velocity_counters
from mamori.policy.facts import PastWithdrawal, VelocityCounter
from mamori.policy.model import Policy
from mamori.policy.parse import load_policy, load_policy_text
from mamori.policy.request import (
    SIGNED_FIELDS,
    AttachedTransaction,
    parse_request,
    signature_problem,
    signing_payload,
)
from mamori.verify.registry import default_registry
from support.sample import LEDGER

ROOT = Path(__file__).resolve().parents[2]
OTHER = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"not the ledger").digest())
KEYS = {"ledger-2026": LEDGER.public_key().public_bytes_raw()}
DEST = "0xd4d890D1D1b8564D0b985D541680c0d690F8a823"  # keccak256("mamori test customer 1")[12:]
FBI = "0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135D"  # FBI PSA 250226, first address
NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # Monday 12:00 JST


@cache
def sample() -> Policy:
    return load_policy_text((ROOT / "src" / "mamori" / "content" / "policies" / "sample.yaml").read_bytes())


def fields(**over: str) -> dict[str, str]:
    base = {
        "request_id": "wd-1",
        "created_at": "2026-03-02T02:59:30Z",
        "initiator": "ops-bot",
        "wallet": "eth-hot-1",
        "chain": "eip155:1",
        "asset": "ETH",
        "amount": str(10**18),
        "destination": DEST,
    }
    base.update(over)
    return base


def signed(key: Ed25519PrivateKey = LEDGER, key_id: str = "ledger-2026", **over: Any) -> dict[str, Any]:
    document: dict[str, Any] = fields(**over)
    document["signature"] = {"key_id": key_id, "ed25519": key.sign(signing_payload(document)).hex()}
    return document


# --- parse_request ----------------------------------------------------------------------------------------------------
def test_parse_request_builds_frozen_values() -> None:
    request = parse_request(signed())
    assert request.amount == 10**18
    assert request.created_at == datetime(2026, 3, 2, 2, 59, 30, tzinfo=UTC)
    assert request.signature is not None and request.signature.key_id == "ledger-2026"
    assert len(request.signature.signature) == 64
    assert request.transaction is None
    with pytest.raises(AttributeError):
        request.amount = 1  # type: ignore[misc]


def test_signed_payload_is_canonical_json_of_the_signed_fields() -> None:
    """Sorted keys, no spaces, UTF-8, exactly the eight fields and exactly as written."""
    document = signed(initiator="操作ボット")
    request = parse_request({**document, "note": "not signed", "transaction": None})
    expected = (
        '{"amount":"1000000000000000000","asset":"ETH","chain":"eip155:1","created_at":"2026-03-02T02:59:30Z",'
        f'"destination":"{DEST}","initiator":"操作ボット","request_id":"wd-1","wallet":"eth-hot-1"}}'
    ).encode()
    assert request.signed_payload == expected
    assert signing_payload(document) == expected
    assert set(orjson.loads(expected)) == set(SIGNED_FIELDS)


def test_a_json_integer_amount_is_signed_as_its_decimal_string() -> None:
    document = signed()
    document["amount"] = 10**18  # the ledger signed the string "1000000000000000000"
    request = parse_request(document)
    assert request.amount == 10**18
    assert signature_problem(request, KEYS) is None


def test_destination_is_normalised_but_signed_as_written() -> None:
    document = signed(destination=f"  {DEST} ")
    request = parse_request(document)
    assert request.destination == DEST.lower()  # compared lowercase with the book, lists and the transaction
    assert signature_problem(request, KEYS) is None


@pytest.mark.parametrize("name", SIGNED_FIELDS)
def test_every_signed_field_is_required(name: str) -> None:
    document = fields()
    del document[name]
    with pytest.raises(InputError) as caught:
        parse_request(document)
    assert caught.value.code == "FIELD_MISSING"
    assert caught.value.details["field"] == name


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("request_id", 7),
        ("initiator", ""),
        ("wallet", "   "),
        ("amount", 1.5),
        ("amount", True),
        ("destination", ["0x"]),
        ("chain", {"id": 1}),
    ],
)
def test_signed_fields_must_be_non_empty_strings(name: str, value: object) -> None:
    with pytest.raises(InputError) as caught:
        parse_request({**fields(), name: value})
    assert caught.value.code == "FIELD_TYPE_INVALID"
    assert caught.value.details["field"] == name


@pytest.mark.parametrize("amount", ["0", "-1", "1.5", "1e18", "ten", str(2**256)])
def test_amount_is_a_positive_integer_in_base_units(amount: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_request(fields(amount=amount))
    assert caught.value.code in {"INTEGER_INVALID", "INTEGER_OUT_OF_RANGE"}


@pytest.mark.parametrize("created_at", ["2026-03-02T02:59:30", "yesterday", "2026-02-30T00:00:00Z"])
def test_created_at_needs_a_valid_timestamp_with_a_zone(created_at: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_request(fields(created_at=created_at))
    assert caught.value.code == "FIELD_TYPE_INVALID"
    assert caught.value.details["field"] == "created_at"


@pytest.mark.parametrize("document", [None, [], "request", 3])
def test_a_request_is_a_json_object(document: object) -> None:
    with pytest.raises(InputError) as caught:
        parse_request(document)
    assert caught.value.code == "RECORD_SHAPE_INVALID"


def test_signature_in_hex_with_or_without_0x_or_base64() -> None:
    raw = LEDGER.sign(signing_payload(fields()))
    for text in (raw.hex(), "0x" + raw.hex(), base64.b64encode(raw).decode()):
        request = parse_request({**fields(), "signature": {"key_id": "ledger-2026", "ed25519": text}})
        assert request.signature is not None and request.signature.signature == raw
        assert signature_problem(request, KEYS) is None


@pytest.mark.parametrize(
    "signature",
    [
        "ledger-2026",
        {"ed25519": "00" * 64},
        {"key_id": 1, "ed25519": "00" * 64},
        {"key_id": "ledger-2026"},
        {"key_id": "ledger-2026", "ed25519": "00" * 63},
        {"key_id": "ledger-2026", "ed25519": "zz" * 64},
        {"key_id": "ledger-2026", "ed25519": "not base64!"},
    ],
)
def test_malformed_signatures_are_input_errors(signature: object) -> None:
    with pytest.raises(InputError) as caught:
        parse_request({**fields(), "signature": signature})
    assert caught.value.code in {"FIELD_TYPE_INVALID", "HEX_INVALID"}


def test_attached_transactions() -> None:
    safe = parse_request({**fields(), "transaction": {"kind": "safe", "record": {"safe": "0x"}}})
    assert safe.transaction == AttachedTransaction("safe", record={"safe": "0x"})
    evm = parse_request({**fields(), "transaction": {"kind": "evm", "raw": "0x02c0"}})
    assert evm.transaction == AttachedTransaction("evm", raw=bytes.fromhex("02c0"))
    for bad in ("0x02", {"kind": "psbt"}, {"kind": "safe", "record": "x"}, {"kind": "evm", "raw": "0xzz"}):
        with pytest.raises(InputError):
            parse_request({**fields(), "transaction": bad})


# --- the ledger's signature -------------------------------------------------------------------------------------------
def test_signature_problem_codes() -> None:
    assert signature_problem(parse_request(signed()), KEYS) is None
    assert signature_problem(parse_request(fields()), KEYS) == ("REQUEST_UNSIGNED", "")
    unknown = parse_request(signed(key_id="ledger-2019"))
    assert signature_problem(unknown, KEYS) == ("REQUEST_KEY_UNKNOWN", "ledger-2019")
    forged = parse_request(signed(key=OTHER))
    assert signature_problem(forged, KEYS) == ("REQUEST_SIGNATURE_INVALID", "ledger-2026")


@pytest.mark.parametrize("name", SIGNED_FIELDS)
def test_altering_any_signed_field_after_signing_invalidates_it(name: str) -> None:
    """DMM Bitcoin: a request altered in transit. Every signed field is covered, even one character."""
    document = signed()
    document[name] = document[name][:-1] + ("0" if document[name][-1] != "0" else "1")
    if name == "created_at":
        document[name] = "2026-03-02T02:59:31Z"
    if name == "destination":  # a one-digit change of a checksummed address is caught even before the signature
        with pytest.raises(InputError) as caught:
            parse_request(document)
        assert caught.value.code == "REQUEST_INVALID"
        document[name] = document[name].lower()
    request = parse_request(document)
    assert signature_problem(request, KEYS) == ("REQUEST_SIGNATURE_INVALID", "ledger-2026")


def test_the_attached_transaction_is_not_signed_by_the_ledger() -> None:
    """The transaction is attached after the ledger signs; it is compared with the request, not signed."""
    document = {**signed(), "transaction": {"kind": "evm", "raw": "0x02c0"}}
    assert signature_problem(parse_request(document), KEYS) is None


def test_a_signature_over_reordered_or_spaced_json_does_not_verify() -> None:
    loose = orjson.dumps(fields())  # insertion order, not sorted
    assert loose != signing_payload(fields())
    document = {**fields(), "signature": {"key_id": "ledger-2026", "ed25519": LEDGER.sign(loose).hex()}}
    assert signature_problem(parse_request(document), KEYS) == ("REQUEST_SIGNATURE_INVALID", "ledger-2026")


# --- facts documents (--facts) ----------------------------------------------------------------------------------------
def facts_for(document: object, request: dict[str, Any] | None = None, now: datetime = NOW) -> Any:
    parsed = parse_request(request or signed())
    return parse_facts(document, sample(), replace(parsed, destination=parsed.destination.lower()), None, now=now)


def test_facts_document_is_parsed_into_typed_facts() -> None:
    facts = facts_for(
        {
            "balances": {"eth-cold-1": {"ETH": "5", "USDC": 7}},
            "velocity": {"hot-velocity": {"count": 2, "amount": "0"}, "hot-daily-eth": {"count": 1, "amount": "300"}},
            "address_book": [
                {
                    "chain": "eip155:1",
                    "address": DEST,
                    "label": "customer",
                    "added_at": "2026-01-01T00:00:00Z",
                    "approved_by": ["aiko", "kenji"],
                }
            ],
            "screening": {
                FBI: [{"list": "fbi-psa250226-bybit", "version": "2025-02-26", "listed_as": "TraderTraitor"}]
            },
            "approvals": [{"approver": "aiko", "at": "2026-03-02T02:59:50+09:00"}],
        }
    )
    assert facts.balances == {("eth-cold-1", "ETH"): 5, ("eth-cold-1", "USDC"): 7}
    assert facts.velocity == {"hot-velocity": VelocityCounter(2, 0), "hot-daily-eth": VelocityCounter(1, 300)}
    entry = facts.address_book[("eip155:1", DEST.lower())]
    assert entry.approved_by == ("aiko", "kenji") and entry.label == "customer"
    (hit,) = facts.screening[FBI.lower()]
    assert (hit.list, hit.version, hit.listed_as) == ("fbi-psa250226-bybit", "2025-02-26", "TraderTraitor")
    assert facts.approvals[0].at == datetime(2026, 3, 1, 17, 59, 50, tzinfo=UTC)


def test_empty_or_absent_facts_are_empty() -> None:
    for document in (None, {}):
        facts = facts_for(document)
        assert not facts.balances and not facts.velocity and not facts.address_book and not facts.approvals


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"balances": []},
        {"balances": {"eth-hot-1": {"ETH": 1.5}}},
        {"balances": {"eth-hot-1": {"ETH": "-1"}}},
        {"address_book": {}},
        {"address_book": ["x"]},
        {"address_book": [{"chain": "eip155:1", "address": "0x12", "added_at": "2026-01-01T00:00:00Z"}]},
        {"address_book": [{"chain": "eip155:1", "address": DEST}]},
        {
            "address_book": [
                {"chain": "eip155:1", "address": DEST, "added_at": "2026-01-01T00:00:00Z", "approved_by": "a"}
            ]
        },
        {"screening": {"0xnot-an-address": []}},
        {"screening": {FBI: {"list": "x"}}},
        {"approvals": [{"approver": "aiko"}]},
        {"approvals": [{"approver": "aiko", "at": "2026-03-02T02:59:50"}]},
        {"history": [1]},
        {"history": [{"wallet": "eth-hot-1", "asset": "ETH", "amount": "1"}]},
        {"velocity": {"hot-velocity": {"count": -1}}},
        {"velocity": {"hot-velocity": {"count": 2**40}}},
    ],
)
def test_malformed_facts_are_input_errors(document: object) -> None:
    with pytest.raises(InputError):
        facts_for(document)


def test_screening_hits_that_are_not_objects_are_rejected_not_dropped() -> None:
    document = {"history": [], "screening": {DEST: ["fbi-psa250226-bybit"]}}
    request = signed()
    request["transaction"] = {"kind": "evm", "raw": unsigned_transfer(DEST, 10**18)}
    try:
        verdict = check_request(request, sample(), document, now=NOW, registry=default_registry())
    except InputError:
        return
    assert verdict.decision != "allow", [r.code for r in verdict.reasons]


def unsigned_transfer(to: str, value: int) -> str:
    import rlp

    return "0x02" + rlp.encode([1, 0, 10**9, 30 * 10**9, 21000, bytes.fromhex(to[2:]), value, b"", []]).hex()


# --- velocity counters from history -----------------------------------------------------------------------------------
def past(minutes_ago: float, **over: Any) -> PastWithdrawal:
    values: dict[str, Any] = {
        "wallet": "eth-hot-1",
        "asset": "ETH",
        "destination": DEST.lower(),
        "initiator": "ops-bot",
        "amount": 10**18,
        "at": NOW - timedelta(minutes=minutes_ago),
    }
    values.update(over)
    return PastWithdrawal(**values)


def test_velocity_counters_count_the_window_and_scope() -> None:
    request = replace(parse_request(signed()), destination=DEST.lower())
    history = [
        past(1),
        past(9.99),
        past(10),  # exactly at the window's start: outside (the window is (now - 10m, now])
        past(-1),  # after now: not yet happened
        past(2, wallet="eth-warm-1"),  # other wallet: outside per [wallet]
        past(3, asset="USDC", amount=5 * 10**6),  # same wallet, other asset: counts for hot-velocity only
        past(60 * 23),
    ]
    counters = velocity_counters(sample(), request, history, now=NOW)
    assert counters["hot-velocity"] == VelocityCounter(3, 2 * 10**18 + 5 * 10**6)
    # hot-daily-eth is per [wallet, asset] over 24h and counts ETH only
    assert counters["hot-daily-eth"] == VelocityCounter(4, 4 * 10**18)
    assert set(counters) == {"hot-velocity", "hot-daily-eth"}


def test_explicit_velocity_counters_override_history() -> None:
    document = {
        "history": [
            {"wallet": "eth-hot-1", "asset": "ETH", "destination": DEST, "amount": "1", "at": "2026-03-02T02:59:00Z"}
        ],
        "velocity": {"hot-velocity": {"count": 4, "amount": 0}},
    }
    facts = facts_for(document)
    assert facts.velocity["hot-velocity"] == VelocityCounter(4, 0)
    assert facts.velocity["hot-daily-eth"] == VelocityCounter(1, 1)


def test_history_destinations_are_normalised_like_the_request() -> None:
    document = {
        "history": [
            {
                "wallet": "eth-hot-1",
                "asset": "ETH",
                "amount": "1",
                "destination": DEST.upper().replace("0X", "0x"),
                "at": "2026-03-02T02:59:00Z",
            }
        ]
    }
    policy = load_policy(
        {
            **_sample_document(),
            "limits": [
                {"id": "per-destination", "kind": "velocity", "window": "1h", "per": ["destination"], "max_count": 1}
            ],
        }
    )
    request = replace(parse_request(signed()), destination=DEST.lower())
    facts = parse_facts(document, policy, request, None, now=NOW)
    assert facts.velocity["per-destination"] == VelocityCounter(1, 1)


def test_a_huge_velocity_window_is_an_error_or_a_denial_not_a_crash() -> None:
    document = _sample_document()
    document["limits"][1]["window"] = "3000000d"
    with pytest.raises(MamoriError) as caught:  # refused where it is written, with its location
        load_policy(document)
    assert caught.value.code == "POLICY_INVALID"
    return
    policy = load_policy(document)
    request = signed()
    request["transaction"] = {"kind": "evm", "raw": unsigned_transfer(DEST, 10**18)}
    try:
        verdict = check_request(request, policy, {"history": []}, now=NOW, registry=default_registry())
    except MamoriError:
        return
    assert verdict.decision == "deny"


# --- check_request: the glue ------------------------------------------------------------------------------------------
def test_a_counter_without_its_amount_is_not_zero() -> None:
    request = signed()
    request["transaction"] = {"kind": "evm", "raw": unsigned_transfer(DEST, 10**18)}
    with pytest.raises(InputError) as caught:
        check_request(
            request, sample(), {"velocity": {"hot-daily-eth": {"count": 5}}}, now=NOW, registry=default_registry()
        )
    assert caught.value.code == "FIELD_MISSING"


def test_check_request_normalises_the_destination_for_comparison() -> None:
    for destination in (DEST, DEST.lower()):
        request = signed(destination=destination)
        request["transaction"] = {"kind": "evm", "raw": unsigned_transfer(DEST, 10**18)}
        facts = {"history": [], "screened_lists": ["ofac-sdn", "fbi-psa250226-bybit"]}
        verdict = check_request(request, sample(), facts, now=NOW, registry=default_registry())
        assert verdict.decision == "allow", [r.code for r in verdict.reasons]


def test_check_request_rejects_a_destination_with_a_bad_checksum() -> None:
    wrong = DEST[:-1] + ("a" if DEST[-1] != "a" else "b")
    wrong = wrong[:2] + wrong[2:3].swapcase() + wrong[3:]
    with pytest.raises(InputError) as caught:
        check_request(signed(destination=wrong), sample(), {}, now=NOW, registry=default_registry())
    assert caught.value.code == "REQUEST_INVALID"


def test_check_request_needs_an_evm_chain_to_verify_a_transaction() -> None:
    request = signed(chain="bip122:000000000019d6689c085ae165831e93", wallet="btc-cold")
    request["transaction"] = {"kind": "evm", "raw": "0x02c0"}
    with pytest.raises(InputError) as caught:
        check_request(request, sample(), {}, now=NOW, registry=default_registry())
    assert caught.value.code == "REQUEST_INVALID"


def test_check_request_raises_decode_errors_for_undecodable_transactions() -> None:
    request = signed()
    request["transaction"] = {"kind": "evm", "raw": "0x02c0"}
    with pytest.raises(MamoriError):
        check_request(request, sample(), {}, now=NOW, registry=default_registry())


def _sample_document() -> dict[str, Any]:
    import yaml

    document: dict[str, Any] = yaml.safe_load(
        (ROOT / "src" / "mamori" / "content" / "policies" / "sample.yaml").read_text(encoding="utf-8")
    )
    return document


def test_case_insensitive_address_forms_are_compared_in_lower_case() -> None:
    """A forbid rule on bc1q… must also catch BC1Q…; base58 keeps its case (it changes the address)."""
    from mamori.policy.facts import normalise_address

    bech32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
    assert normalise_address("bip122:000000000019d6689c085ae165831e93", bech32.upper()) == bech32
    cashaddr = "bitcoincash:qpgf0ztxq3mwfq6eg5versgfdzq9c3pwv5jsk6wnay"
    assert normalise_address("bch:mainnet", cashaddr.upper()) == cashaddr
    legacy = "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB"
    assert normalise_address("bip122:000000000019d6689c085ae165831e93", legacy) == legacy

"""Decision vectors as data: tests/vectors/policy/*.json, one case per file, run through ``check_request``.

Each vector holds the request (signed here with the sample's demo ledger key when it says ``"sign"``), the facts in
the format of ``mamori policy check --facts``, the decision time and the expected decision and reason codes. The
Bybit records are read from ``../shared/data`` (or the copy shipped in the package) where a vector says
``"record_from": "bybit:0"``. Raw EVM transactions carry a ``build`` section that this file re-derives with
eth-account / rlp, so every byte of a vector can be reproduced and checked.

Vector keys: ``id`` (= file name), ``description``, ``provenance``, ``policy`` ("sample" or an inline document),
``now``, ``request`` (``sign``: true or {"key_id": …}; ``tamper_after_signing``: fields replaced after signing),
``facts``, ``expect`` {``decision``, ``codes`` (must be present), ``absent_codes``, ``reasons`` (partial matches
of a reason: code, rule, details), ``required_approvals`` (partial matches)}, optional ``build``.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import rlp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account

from mamori.policy.check import check_request
from mamori.policy.evaluate import Verdict
from mamori.policy.model import Policy
from mamori.policy.parse import load_policy, load_policy_text
from mamori.policy.reasons import REASON_CATALOG
from mamori.policy.request import SIGNED_FIELDS, signing_payload
from mamori.verify.registry import default_registry

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
VECTORS = ROOT / "tests" / "vectors" / "policy"
SAMPLE_POLICY = ROOT / "src" / "mamori" / "content" / "policies" / "sample.yaml"
LEDGER_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"mamori sample ledger key").digest())
FBI_LIST = "fbi-psa250226-bybit"
DECISIONS = ("allow", "deny", "needs_approval")
VECTOR_KEYS = {"id", "description", "provenance", "policy", "now", "request", "facts", "expect", "build"}
EXPECT_KEYS = {"decision", "codes", "absent_codes", "reasons", "required_approvals"}
# The cases issue 3 names; each must stay in the directory.
REQUIRED_IDS = {
    "bybit-executed-delegatecall-cold-wallet",
    "bybit-displayed-30000-eth-mismatched-signatures",
    "address-book-entry-cooling-off",
    "coincheck-velocity-6th-transfer-in-8-minutes",
    "coincheck-velocity-5th-transfer-allowed",
    "fbi-listed-destination",
    "tx-destination-differs-from-request",
}


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data, or the copy shipped in the package where the shared tree is absent."""
    path = SHARED.joinpath(*parts)
    if path.exists():
        return path
    return ROOT / "src" / "mamori" / "content" / "samples" / parts[-1]


@cache
def bybit_records() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(shared_file("safe", "bybit-safe-tx-71.json").read_text(encoding="utf-8"))["results"])


@cache
def fbi_addresses() -> frozenset[str]:
    text = shared_file("intel", "fbi_psa250226_bybit", "eth_addresses.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


@cache
def sample_policy() -> Policy:
    return load_policy_text(SAMPLE_POLICY.read_bytes())


def vector_files() -> list[Path]:
    return sorted(VECTORS.glob("*.json"))


def load_vector(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def policy_of(vector: dict[str, Any]) -> Policy:
    if vector["policy"] == "sample":
        return sample_policy()
    return load_policy(vector["policy"])


def sign(fields: dict[str, Any], key_id: str = "ledger-2026") -> dict[str, str]:
    return {"key_id": key_id, "ed25519": LEDGER_KEY.sign(signing_payload(fields)).hex()}


def request_document(spec: dict[str, Any]) -> dict[str, Any]:
    """The request as the ledger would send it: signed if asked, Bybit records substituted, tampering applied."""
    document = copy.deepcopy(spec)
    how = document.pop("sign", None)
    tamper = document.pop("tamper_after_signing", {})
    if how:
        key_id = how["key_id"] if isinstance(how, dict) else "ledger-2026"
        document["signature"] = sign({name: document[name] for name in SIGNED_FIELDS}, key_id)
    document.update(tamper)
    transaction = document.get("transaction")
    if isinstance(transaction, dict) and "record_from" in transaction:
        source, _, index = transaction.pop("record_from").partition(":")
        assert source == "bybit", source
        transaction["record"] = copy.deepcopy(bybit_records()[int(index)])
    return document


def decide(vector: dict[str, Any]) -> Verdict:
    return check_request(
        request_document(vector["request"]),
        policy_of(vector),
        vector["facts"],
        now=datetime.fromisoformat(vector["now"].replace("Z", "+00:00")),
        registry=default_registry(),
    )


def matches(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    """Partial match: every key expected is present with an equal value (details compared as a sub-mapping)."""
    for key, value in expected.items():
        if isinstance(value, dict):
            if not isinstance(actual.get(key), dict) or not matches(value, actual[key]):
                return False
        elif actual.get(key) != value:
            return False
    return True


IDS = [path.stem for path in vector_files()]


@pytest.mark.parametrize("path", vector_files(), ids=IDS)
def test_vector(path: Path) -> None:
    vector = load_vector(path)
    expect = vector["expect"]
    result = decide(vector).to_json()
    codes = [item["code"] for item in result["reasons"]]
    shown = json.dumps(result, ensure_ascii=False, indent=1)
    assert result["decision"] == expect["decision"], shown
    assert result["request_id"] == vector["request"]["request_id"]
    for code in expect["codes"]:
        assert code in codes, f"{code} missing\n{shown}"
    for code in expect.get("absent_codes", []):
        assert code not in codes, f"{code} present\n{shown}"
    for wanted in expect.get("reasons", []):
        assert any(matches(wanted, item) for item in result["reasons"]), f"no reason like {wanted}\n{shown}"
    for wanted in expect.get("required_approvals", []):
        assert any(matches(wanted, item) for item in result["required_approvals"]), (
            f"no approval like {wanted}\n{shown}"
        )
    if expect["decision"] == "needs_approval":
        assert result["required_approvals"], shown
    else:
        assert result["required_approvals"] == [], shown


@pytest.mark.parametrize("path", vector_files(), ids=IDS)
def test_vector_is_well_formed(path: Path) -> None:
    """A vector that names an unknown code or key would pass vacuously: refuse it."""
    vector = load_vector(path)
    assert set(vector) <= VECTOR_KEYS, set(vector) - VECTOR_KEYS
    assert VECTOR_KEYS - {"build"} <= set(vector)
    assert vector["id"] == path.stem
    assert vector["description"].strip() and vector["provenance"].strip()
    assert vector["policy"] == "sample" or isinstance(vector["policy"], dict)
    expect = vector["expect"]
    assert set(expect) <= EXPECT_KEYS and expect["decision"] in DECISIONS
    assert expect["codes"], "a vector names at least one code that must be present"
    named = [*expect["codes"], *expect.get("absent_codes", []), *(r["code"] for r in expect.get("reasons", []))]
    unknown = [code for code in named if code not in REASON_CATALOG]
    assert not unknown, unknown
    assert not set(expect["codes"]) & set(expect.get("absent_codes", []))
    # Provenance: an address screened as FBI-listed must be on the FBI's list.
    for address, hits in vector["facts"].get("screening", {}).items():
        if any(hit.get("list") == FBI_LIST for hit in hits):
            assert address.lower() in fbi_addresses(), address


@pytest.mark.parametrize("path", [p for p in vector_files() if "build" in load_vector(p)], ids=lambda p: p.stem)
def test_raw_transaction_is_reproducible(path: Path) -> None:
    """The raw EVM transaction of a vector is exactly what its ``build`` section gives (eth-account, rlp)."""
    vector = load_vector(path)
    build = vector["build"]["evm"]
    fields = build["fields"]
    if build["signer_seed"] is None:
        items = [
            fields["chainId"],
            fields["nonce"],
            fields["maxPriorityFeePerGas"],
            fields["maxFeePerGas"],
            fields["gas"],
            bytes.fromhex(fields["to"][2:]),
            fields["value"],
            bytes.fromhex(fields["data"][2:]),
            [],
        ]
        expected = b"\x02" + rlp.encode(items)
    else:
        key = hashlib.sha256(build["signer_seed"].encode()).digest()
        expected = bytes(Account.sign_transaction(fields, key).raw_transaction)
    assert vector["request"]["transaction"] == {"kind": "evm", "raw": "0x" + expected.hex()}


def test_the_cases_of_the_issue_are_present_and_there_are_enough() -> None:
    ids = {path.stem for path in vector_files()}
    assert ids >= REQUIRED_IDS, REQUIRED_IDS - ids
    assert len(ids) >= len(REQUIRED_IDS) + 20
    decisions = {load_vector(path)["expect"]["decision"] for path in vector_files()}
    assert decisions == set(DECISIONS)


def test_bybit_vectors_use_both_real_records() -> None:
    records = bybit_records()
    assert records[0]["safeTxHash"] == "0xb3476d061aeb8fc1d605a873c483a2402d88a68a9cdd1a8b47655dd55ba004f8"
    assert records[1]["safeTxHash"] == "0x9d89e67333f99c136537be74029c44592985a4855172f4c2d0d942029868f98e"
    sources = {load_vector(path)["request"].get("transaction", {}).get("record_from") for path in vector_files()} - {
        None
    }
    assert sources == {"bybit:0", "bybit:1"}


def test_vector_signatures_are_what_the_policy_key_verifies() -> None:
    """The demo key the harness signs with is the one the sample policy lists (else every vector would deny)."""
    listed = {key.id: key.ed25519 for key in sample_policy().system_of_record}
    assert LEDGER_KEY.public_key().public_bytes_raw() == listed["ledger-2026"]


def test_a_tampered_vector_would_be_caught_by_the_harness() -> None:
    """Changing one signed field after signing turns an allowed vector into a denial: the harness signs for real."""
    vector = load_vector(VECTORS / "hot-routine-eth-allowed.json")
    assert decide(vector).decision == "allow"
    altered = copy.deepcopy(vector)
    altered["request"]["tamper_after_signing"] = {"amount": "1000000000000000001"}
    verdict = decide(altered)
    assert verdict.decision == "deny"
    assert "REQUEST_SIGNATURE_INVALID" in {r.code for r in verdict.reasons}

"""``verify_attached``: the attached transaction verified with what the policy knows of the wallet."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from mamori.policy.check import verify_attached
from mamori.policy.model import Policy
from mamori.policy.parse import load_policy_text
from mamori.policy.request import parse_request
from mamori.verify.registry import default_registry
from support.sample import SAMPLE_PATH

BYBIT_SAFE_TX_HASH = "0xb3476d061aeb8fc1d605a873c483a2402d88a68a9cdd1a8b47655dd55ba004f8"


@cache
def policy() -> Policy:
    return load_policy_text(SAMPLE_PATH.read_bytes())


def bybit(index: int) -> dict[str, Any]:
    path = SAMPLE_PATH.parents[1] / "samples" / "bybit-safe-tx-71.json"
    return copy.deepcopy(json.loads(path.read_text(encoding="utf-8"))["results"][index])


def request_with(record: dict[str, Any]) -> Any:
    return parse_request(
        {
            "request_id": "wd-1",
            "created_at": "2025-02-21T05:00:00Z",
            "initiator": "ops-bot",
            "wallet": "eth-cold-1",
            "chain": "eip155:1",
            "asset": "ETH",
            "amount": "30000000000000000000000",
            "destination": "0x88a1493366D48225fc3cEFbdae9eBb23E323Ade3",
            "transaction": {"kind": "safe", "record": record},
        }
    )


def codes(record: dict[str, Any]) -> set[str]:
    verified = verify_attached(request_with(record), policy(), default_registry())
    assert verified is not None
    return {item.code for item in verified[0].findings}


def test_the_owners_in_the_policy_verify_the_collected_signatures() -> None:
    verified = verify_attached(request_with(bybit(0)), policy(), default_registry())
    assert verified is not None
    facts, signing_hash = verified
    assert signing_hash == BYBIT_SAFE_TX_HASH
    found = {item.code for item in facts.findings}
    # Signed by three real owners: nothing is unverifiable; what denies is the DELEGATECALL itself.
    assert "SIGNER_UNVERIFIED" not in found
    assert "DELEGATECALL_UNTRUSTED" in found


def test_signatures_made_for_another_transaction_are_not_owners_signatures() -> None:
    # The displayed record carries the signatures of the executed one: they recover to non-owners.
    assert "SIGNER_UNVERIFIED" not in codes(bybit(1))
    assert codes(bybit(1)) & {"SIGNER_NOT_OWNER", "SIGNATURE_MISMATCH"}


def test_a_record_of_another_safe_is_verified_without_the_wallet_s_owners() -> None:
    record = bybit(0)
    record["safe"] = "0x00000000000000000000000000000000000000b2"
    record.pop("safeTxHash")
    verified = verify_attached(request_with(record), policy(), default_registry())
    assert verified is not None
    # Paid from elsewhere: the evaluator reports TX_WALLET_MISMATCH rather than an unverifiable record.
    assert verified[0].source == "0x00000000000000000000000000000000000000b2"

"""``policy check``: from documents (request, facts) to a verdict, verifying the attached transaction on the way.

This is the glue the CLI and the decision vectors share. It reads nothing itself: the policy, the documents,
the screening index and ``now`` are arguments; only parsing and the (pure) verifiers run here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from mamori.chains.bitcoin.networks import BITCOIN_NETWORKS
from mamori.chains.evm.encoding import parse_uint
from mamori.errors import InputError, MamoriError
from mamori.policy.evaluate import Verdict, evaluate
from mamori.policy.facts import (
    AddressBookEntry,
    Approval,
    Facts,
    PastWithdrawal,
    ScreeningHit,
    TransactionFacts,
    VelocityCounter,
    normalise_address,
    window_start,
)
from mamori.policy.intent import psbt_facts, transaction_facts
from mamori.policy.model import Policy, Wallet
from mamori.policy.request import WithdrawalRequest, parse_request, parse_timestamp
from mamori.verify.context import SafeBook
from mamori.verify.evm import verify_evm_tx
from mamori.verify.psbt import verify_psbt
from mamori.verify.registry import ContractRegistry
from mamori.verify.safe import verify_safe_record

# Screening lookup: normalised address -> hits (the CLI passes the intel index's lookup).
Screen = Callable[[str, str], tuple[ScreeningHit, ...]]


def check_request(
    request_document: object,
    policy: Policy,
    facts_document: object,
    *,
    now: datetime,
    registry: ContractRegistry,
    screen: Screen | None = None,
    screened_lists: frozenset[str] = frozenset(),
) -> Verdict:
    """``screen`` looks an address up in the lists named by ``screened_lists`` (the CLI passes the intel index)."""
    request = parse_request(request_document)
    transaction = _verify_transaction(request, policy, registry)
    facts = parse_facts(facts_document, policy, request, transaction, now=now, screen=screen)
    if screened_lists:
        facts = replace(facts, screened_lists=facts.screened_lists | screened_lists)
    return evaluate(request, policy, facts, now=now)


def _verify_transaction(
    request: WithdrawalRequest, policy: Policy, registry: ContractRegistry
) -> TransactionFacts | None:
    verified = verify_attached(request, policy, registry)
    return verified[0] if verified is not None else None


def verify_attached(
    request: WithdrawalRequest, policy: Policy, registry: ContractRegistry
) -> tuple[TransactionFacts, str] | None:
    """Verify the attached transaction with what the policy knows of the wallet: (facts, the exact hash the signer
    will sign, ``0x`` + 64 hex). ``None`` without a transaction; a MamoriError when it cannot be verified."""
    attached = request.transaction
    if attached is None:
        return None
    wallet = policy.wallets.get(request.wallet)
    if attached.kind == "psbt":
        return _verify_psbt(attached.raw, request, wallet)
    chain_id = _evm_chain_id(request.chain)
    if attached.kind == "safe":
        assert attached.record is not None  # noqa: S101 - parse_request guarantees it
        book = _wallet_book(wallet, attached.record, chain_id)
        report = verify_safe_record(
            attached.record,
            chain_id=chain_id,
            safe_version=None if book is not None or wallet is None else wallet.safe_version,
            book=book,
            registry=registry,
        )
        return transaction_facts(report), "0x" + report.hashes.safe_tx_hash.hex()
    evm = verify_evm_tx(attached.raw, registry=registry, expected_chain_id=chain_id)
    return transaction_facts(evm), "0x" + evm.tx.signing_hash.hex()


def _verify_psbt(raw: bytes, request: WithdrawalRequest, wallet: Wallet | None) -> tuple[TransactionFacts, str]:
    """A PSBT, verified against the wallet's own descriptor (change counts only when re-derived from it). The hash
    the release binds is the unsigned txid (display order), which every signer's device shows."""
    network = BITCOIN_NETWORKS.get(request.chain)
    if network is None:
        raise InputError("REQUEST_INVALID", reason=f"chain {request.chain} takes no PSBT: a bip122 chain does")
    wallets = (wallet.descriptor,) if wallet is not None and wallet.descriptor is not None else ()
    report = verify_psbt(raw, wallets=wallets, network=network)
    return psbt_facts(report, request.chain), "0x" + report.unsigned_txid


def _wallet_book(wallet: Wallet | None, record: Mapping[str, Any], chain_id: int) -> SafeBook | None:
    """The policy's own knowledge of a Safe wallet (version, owners, threshold), so that signatures already
    collected are checked against the real owners. Only for the wallet's own address: a record of another Safe
    is then reported as paid from elsewhere (TX_WALLET_MISMATCH), not as an unverifiable record."""
    if wallet is None or not wallet.owners or not isinstance(record.get("safe"), str):
        return None
    try:
        if normalise_address(wallet.chain, record["safe"]) != wallet.address.lower():
            return None
    except MamoriError:
        return None
    return SafeBook.from_document(
        {
            "safes": [
                {
                    "address": wallet.address,
                    "chain_id": chain_id,
                    "version": wallet.safe_version,
                    "owners": list(wallet.owners),
                    "threshold": wallet.threshold,
                }
            ]
        }
    )


def _evm_chain_id(chain: str) -> int:
    namespace, _, reference = chain.partition(":")
    if namespace != "eip155" or not reference.isdigit():
        raise InputError("REQUEST_INVALID", reason=f"chain {chain} has no EVM transaction verifier yet")
    return int(reference)


def parse_facts(
    document: object,
    policy: Policy,
    request: WithdrawalRequest,
    transaction: TransactionFacts | None,
    *,
    now: datetime,
    screen: Screen | None = None,
) -> Facts:
    doc: Mapping[str, Any] = document if isinstance(document, Mapping) else {}
    if document is not None and not isinstance(document, Mapping):
        raise InputError("RECORD_SHAPE_INVALID", reason="facts must be a JSON object")
    balances = {
        (wallet, asset): _amount(value, f"balances.{wallet}.{asset}")
        for wallet, assets in _mapping(doc.get("balances"), "balances").items()
        for asset, value in _mapping(assets, f"balances.{wallet}").items()
    }
    velocity = {
        limit: VelocityCounter(
            _count(_required(v, "count", f"velocity.{limit}"), f"velocity.{limit}.count"),
            _amount(_required(v, "amount", f"velocity.{limit}"), f"velocity.{limit}.amount"),
        )
        for limit, v in _mapping(doc.get("velocity"), "velocity").items()
        if _is_object(v, f"velocity.{limit}")
    }
    if "history" in doc:
        computed = velocity_counters(policy, request, _history(doc["history"], policy), now=now)
        velocity = {**computed, **velocity}
    book: dict[tuple[str, str], AddressBookEntry] = {}
    for index, item in enumerate(_list(doc.get("address_book"), "address_book")):
        entry = _book_entry(item, f"address_book[{index}]")
        book[(entry.chain, entry.address)] = entry
    screening: dict[str, tuple[ScreeningHit, ...]] = {}
    for address, hits in _mapping(doc.get("screening"), "screening").items():
        screening[normalise_address(request.chain, address)] = tuple(
            _hit(h, f"screening.{address}[{i}]", address) for i, h in enumerate(_list(hits, f"screening.{address}"))
        )
    if screen is not None:
        targets = [request.destination, *(transaction.addresses if transaction else ())]
        for address in dict.fromkeys(targets):
            found = screen(request.chain, address)
            if found:
                screening[address] = screening.get(address, ()) + found
    approvals = tuple(
        _approval(item, f"approvals[{i}]") for i, item in enumerate(_list(doc.get("approvals"), "approvals"))
    )
    lists = frozenset(str(name) for name in _list(doc.get("screened_lists"), "screened_lists"))
    return Facts(balances, velocity, book, screening, transaction, approvals, lists)


def velocity_counters(
    policy: Policy, request: WithdrawalRequest, history: list[PastWithdrawal], *, now: datetime
) -> dict[str, VelocityCounter]:
    """Counters of every velocity limit for this request, from past withdrawals (this one excluded)."""
    current = {
        "wallet": request.wallet,
        "asset": request.asset,
        "destination": request.destination,
        "initiator": request.initiator,
    }
    counters: dict[str, VelocityCounter] = {}
    for limit in policy.limits:
        if limit.kind != "velocity":
            continue
        try:
            since = window_start(now, limit.window_seconds)
        except OverflowError as exc:
            raise InputError("FIELD_TYPE_INVALID", field="now", expected="a time after the limit's window") from exc
        count = amount = 0
        for past in history:
            recorded = {
                "wallet": past.wallet,
                "asset": past.asset,
                "destination": past.destination,
                "initiator": past.initiator,
            }
            if since < past.at <= now and all(current[key] == recorded[key] for key in limit.per):
                count += 1
                if limit.asset is None or past.asset == limit.asset:
                    amount += past.amount
        counters[limit.id] = VelocityCounter(count, amount)
    return counters


def _history(value: object, policy: Policy) -> list[PastWithdrawal]:
    items = []
    for index, item in enumerate(_list(value, "history")):
        at = f"history[{index}]"
        if not isinstance(item, Mapping):
            raise InputError("FIELD_TYPE_INVALID", field=at, expected="an object")
        wallet = policy.wallets.get(str(item.get("wallet")))
        asset = str(item.get("asset"))
        # A row that names no known wallet or asset would silently count for nothing: refuse it instead.
        if wallet is None:
            raise InputError("FIELD_TYPE_INVALID", field=f"{at}.wallet", expected="a wallet of the policy")
        if asset not in policy.assets:
            raise InputError("FIELD_TYPE_INVALID", field=f"{at}.asset", expected="an asset of the policy")
        items.append(
            PastWithdrawal(
                wallet=wallet.id,
                asset=asset,
                destination=normalise_address(wallet.chain, str(item.get("destination", ""))),
                initiator=str(item.get("initiator", "")),
                amount=_amount(item.get("amount"), f"{at}.amount"),
                at=parse_timestamp(item.get("at"), field=f"{at}.at"),
            )
        )
    return items


def _hit(item: object, at: str, address: str) -> ScreeningHit:
    # A malformed hit is an error, never dropped: dropping it would let a listed address through.
    if not isinstance(item, Mapping) or not isinstance(item.get("list"), str) or not item["list"]:
        raise InputError("FIELD_TYPE_INVALID", field=at, expected='{"list": …, "version": …, "listed_as": …}')
    return ScreeningHit(item["list"], str(item.get("version", "")), str(item.get("listed_as", address)))


def _approval(item: object, at: str) -> Approval:
    if not isinstance(item, Mapping) or not isinstance(item.get("approver"), str):
        raise InputError("FIELD_TYPE_INVALID", field=at, expected='{"approver": …, "at": …}')
    return Approval(item["approver"], parse_timestamp(item.get("at"), field=f"{at}.at"))


def _book_entry(item: object, at: str) -> AddressBookEntry:
    if not isinstance(item, Mapping):
        raise InputError("FIELD_TYPE_INVALID", field=at, expected="an object")
    chain = str(item.get("chain", ""))
    approved = item.get("approved_by", [])
    if not isinstance(approved, list):
        raise InputError("FIELD_TYPE_INVALID", field=f"{at}.approved_by", expected="a list of people")
    return AddressBookEntry(
        chain=chain,
        address=normalise_address(chain, str(item.get("address", ""))),
        label=str(item.get("label", "")),
        added_at=parse_timestamp(item.get("added_at"), field=f"{at}.added_at"),
        approved_by=tuple(str(name) for name in approved),
    )


def _required(item: Mapping[str, Any], key: str, at: str) -> object:
    # A counter without its count or amount is not zero: it is a fact nobody gathered.
    if key not in item:
        raise InputError("FIELD_MISSING", field=f"{at}.{key}")
    return item[key]


def _is_object(value: object, field: str) -> bool:
    if not isinstance(value, Mapping):
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="an object")
    return True


def _mapping(value: object, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="an object")
    return value


def _list(value: object, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="a list")
    return value


def _amount(value: object, field: str) -> int:
    return parse_uint(value, field=field)


def _count(value: object, field: str) -> int:
    return parse_uint(value, field=field, bits=32)

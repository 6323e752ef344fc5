"""The pure policy evaluator: ``evaluate(request, policy, facts, *, now) -> Verdict``.

No I/O and no clock: everything it knows comes in as arguments. The rules of decision:
- deny by default: a withdrawal is allowed only if some permit rule matches;
- a forbid beats any permit, and every deny reason is reported, not only the first;
- a rule or limit that cannot be evaluated denies (unlike Cedar, which skips an erroring policy);
- verification findings of a denying severity deny; screening hits deny; the address book is enforced;
- what remains is "needs_approval" until every required quorum is met by valid approvals, then "allow".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from mamori.policy.approvals import approvals_counting, quorum_text_en, quorum_text_ja
from mamori.policy.facts import Approval, Facts
from mamori.policy.model import Approvals, Limit, Match, Policy, Rule, Wallet
from mamori.policy.reasons import REASON_CATALOG
from mamori.policy.request import WithdrawalRequest, signature_problem

Decision = Literal["allow", "deny", "needs_approval"]


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    rule: str | None
    message_en: str
    message_ja: str
    details: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "rule": self.rule,
            "message": {"en": self.message_en, "ja": self.message_ja},
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class RequiredApproval:
    source: str
    approvals: Approvals
    have: int

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "count": self.approvals.count,
            "have": self.have,
            "groups": sorted(self.approvals.groups),
            "min_employees": self.approvals.min_employees,
            "distinct_organisations": self.approvals.distinct_organisations,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    reasons: tuple[Reason, ...]
    required_approvals: tuple[RequiredApproval, ...]
    policy_id: str
    policy_digest: str
    request_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "decision": self.decision,
            "policy": {"id": self.policy_id, "digest": self.policy_digest},
            "reasons": [reason.to_json() for reason in self.reasons],
            "required_approvals": [item.to_json() for item in self.required_approvals],
        }


def reason(code: str, rule_id: str | None = None, **details: object) -> Reason:
    """A reason from the catalog; ``rule_id`` names the rule, limit or policy section that produced it."""
    en, ja = REASON_CATALOG[code]
    shown = {key: str(value) for key, value in details.items()}
    if rule_id is not None:
        shown.setdefault("rule", rule_id)
    return Reason(code, rule_id, en.format(**shown), ja.format(**shown), tuple(shown.items()))


def evaluate(request: WithdrawalRequest, policy: Policy, facts: Facts, *, now: datetime) -> Verdict:
    """Decide one withdrawal. Never raises: anything unexpected becomes a denial with its reason."""
    try:
        return _Evaluation(request, policy, facts, now).run()
    except Exception as exc:  # noqa: BLE001 - an evaluator bug must deny, never allow or crash the caller
        denial = reason("RULE_ERROR", "(evaluator)", reason=type(exc).__name__)
        return Verdict("deny", (denial,), (), policy.id, policy.digest, request.request_id)


class _Evaluation:
    def __init__(self, request: WithdrawalRequest, policy: Policy, facts: Facts, now: datetime) -> None:
        self.request = request
        self.policy = policy
        self.facts = facts
        self.now = now
        self.denials: list[Reason] = []
        self.notes: list[Reason] = []
        self.requirements: list[tuple[str, Approvals]] = []

    def run(self) -> Verdict:
        request, policy = self.request, self.policy
        if self.now.tzinfo is None:
            return self._verdict_deny(reason("RULE_ERROR", "(clock)", reason="now has no time zone"))
        wallet = policy.wallets.get(request.wallet)
        if wallet is None:
            return self._verdict_deny(reason("WALLET_UNKNOWN", wallet=request.wallet))
        if request.asset not in wallet.assets:
            return self._verdict_deny(reason("ASSET_NOT_ALLOWED", asset=request.asset, wallet=wallet.id))
        if request.chain != wallet.chain:
            return self._verdict_deny(
                reason("CHAIN_MISMATCH", request_chain=request.chain, wallet=wallet.id, wallet_chain=wallet.chain)
            )
        local = self.now.astimezone(ZoneInfo(policy.timezone))
        self.weekday, self.minute = local.weekday(), local.hour * 60 + local.minute
        self._check_source()
        self._check_age()
        if request.initiator not in policy.people:
            # Separation of duties needs to know who initiated: an unknown initiator is refused.
            self.denials.append(reason("INITIATOR_UNKNOWN", "people", initiator=request.initiator))
        self._check_transaction(wallet)
        self._check_screening()
        in_book = self._check_address_book(wallet)
        rules, limits = policy.candidates_for(wallet.id, request.asset, request.destination)
        permits = self._check_rules(rules, wallet, in_book)
        self._check_limits(limits, wallet, in_book)
        if self.denials:
            return self._verdict_deny()
        for rule in permits:
            if rule.approvals is not None:
                self.requirements.append((rule.id, rule.approvals))
        missing = self._check_approvals()
        if missing:
            return Verdict(
                "needs_approval", tuple(self.notes), tuple(missing), policy.id, policy.digest, request.request_id
            )
        permitted = tuple(reason("PERMITTED", rule.id) for rule in permits)
        return Verdict("allow", permitted + tuple(self.notes), (), policy.id, policy.digest, request.request_id)

    def _verdict_deny(self, *extra: Reason) -> Verdict:
        reasons = tuple(self.denials) + extra
        return Verdict("deny", reasons, (), self.policy.id, self.policy.digest, self.request.request_id)

    # --- the request, its source and its transaction ------------------------------------------------------
    def _check_source(self) -> None:
        if not self.policy.require_signed_request and self.request.signature is None:
            return
        # A signature that is present is always checked, required or not: a tampered request is never allowed.
        keys = {key.id: key.ed25519 for key in self.policy.system_of_record}
        problem = signature_problem(self.request, keys)
        if problem is not None:
            code, key_id = problem
            self.denials.append(reason(code, "system_of_record", key_id=key_id))

    def _check_age(self) -> None:
        created, now = self.request.created_at, self.now
        if created > now + timedelta(minutes=5):  # a little clock skew between the ledger and the guard
            problem, problem_ja = "dated in the future", "未来の日時です"
        elif now - created > timedelta(seconds=self.policy.request_max_age_seconds):
            problem, problem_ja = "older than the policy accepts", "ポリシーが受け付ける期間より古くなっています"
        else:
            return
        self.denials.append(
            reason(
                "REQUEST_STALE",
                "request_max_age",
                created_at=created.isoformat(),
                now=now.isoformat(),
                problem=problem,
                problem_ja=problem_ja,
            )
        )

    def _check_transaction(self, wallet: Wallet) -> None:
        tx = self.facts.transaction
        if tx is None:
            if wallet.tier in self.policy.require_transaction:
                self.denials.append(reason("TX_MISSING", "require_transaction", tier=wallet.tier))
            return
        request = self.request
        is_safe_wallet = wallet.safe_version is not None or bool(wallet.owners)
        expected_kind = "psbt" if wallet.descriptor is not None else "safe" if is_safe_wallet else "evm"
        if tx.kind != expected_kind:
            # An EOA transaction for a Safe wallet (or the reverse) moves someone else's funds, or nobody's.
            self.denials.append(reason("TX_KIND_MISMATCH", wallet=wallet.id, expected=expected_kind, actual=tx.kind))
        if tx.kind in ("evm", "psbt"):
            self._check_fee(wallet, tx.max_fee)
        if tx.foreign_inputs:
            shown = ", ".join(map(str, tx.foreign_inputs))
            self.denials.append(reason("TX_INPUT_NOT_WALLET", wallet=wallet.id, inputs=shown))
        if tx.source and tx.source != wallet.address:
            self.denials.append(
                reason("TX_WALLET_MISMATCH", actual=tx.source, wallet=wallet.id, expected=wallet.address)
            )
        for item in tx.findings:
            if item.severity == "critical" or item.severity in self.policy.findings.deny:
                self.denials.append(
                    reason(
                        "FINDING_DENIES",
                        "findings",
                        finding=item.code,
                        severity=item.severity,
                        message=item.message_en,
                        message_ja=item.message_ja,
                    )
                )
        escalations = dict(self.policy.findings.escalate)
        for severity in sorted({f.severity for f in tx.findings} & set(escalations)):
            self.requirements.append((f"findings.{severity}", escalations[severity]))
        if tx.problem is not None or len(tx.transfers) != 1:
            detail = tx.problem or f"{len(tx.transfers)} transfers"
            self.denials.append(reason("TX_NOT_A_TRANSFER", detail=detail))
            return
        transfer = tx.transfers[0]
        asset = self.policy.assets[request.asset]
        expected_token = "0x" + asset.contract.hex() if asset.contract is not None else None
        if transfer.token != expected_token:
            self.denials.append(
                reason("TX_ASSET_MISMATCH", actual=transfer.token or "the native coin", expected=request.asset)
            )
        if transfer.destination != request.destination:
            self.denials.append(
                reason("TX_DESTINATION_MISMATCH", actual=transfer.destination, expected=request.destination)
            )
        if transfer.amount != request.amount:
            self.denials.append(reason("TX_AMOUNT_MISMATCH", actual=transfer.amount, expected=request.amount))

    def _check_fee(self, wallet: Wallet, max_fee: int) -> None:
        native = next((a for a in self.policy.assets.values() if a.chain == wallet.chain and a.contract is None), None)
        cap = self.policy.fee_caps.get(native.id) if native is not None else None
        if native is None or cap is None:
            asset = native.id if native is not None else f"the native coin of {wallet.chain}"
            self.denials.append(reason("FEE_CAP_MISSING", "fee_caps", asset=asset))
        elif max_fee > cap:
            shown = self._units(native.id)
            self.denials.append(reason("FEE_EXCESSIVE", "fee_caps", fee=shown(max_fee), cap=shown(cap)))

    def _check_screening(self) -> None:
        screening = self.policy.screening
        consulted = self.facts.screened_lists
        # Lists the policy names are lists it relies on: each must have been consulted, as must `require`.
        for name in sorted((screening.require | screening.lists) - consulted):
            self.denials.append(reason("FACT_MISSING", "screening", fact=f"screening against list {name}"))
        if screening.deny and not consulted:
            self.denials.append(reason("FACT_MISSING", "screening", fact="screening against any list"))
        if not screening.deny:
            return
        addresses = [self.request.destination]
        if self.facts.transaction is not None:
            addresses += self.facts.transaction.addresses
        for address in dict.fromkeys(addresses):
            for hit in self.facts.screening.get(address, ()):
                if not screening.lists or hit.list in screening.lists:
                    self.denials.append(
                        reason(
                            "SCREENING_HIT",
                            "screening",
                            address=address,
                            list=hit.list,
                            version=hit.version,
                            listed_as=hit.listed_as,
                            **({"indicator": hit.indicator} if hit.indicator is not None else {}),
                        )
                    )

    def _check_address_book(self, wallet: Wallet) -> bool:
        """Whether the destination is a usable address-book entry; denies where the wallet's tier needs one."""
        book = self.policy.address_book
        required = wallet.tier in book.required_for
        entry = self.facts.address_book.get((wallet.chain, self.request.destination))
        if entry is None:
            if required:
                self.denials.append(
                    reason(
                        "DESTINATION_NOT_IN_ADDRESS_BOOK",
                        "address_book",
                        destination=self.request.destination,
                        tier=wallet.tier,
                    )
                )
            return False
        ready_at = entry.added_at + timedelta(seconds=book.cooling_off_seconds)
        usable = True
        if self.now < ready_at:
            usable = False
            if required:
                self.denials.append(
                    reason(
                        "DESTINATION_COOLING_OFF",
                        "address_book",
                        destination=self.request.destination,
                        added_at=entry.added_at.isoformat(),
                        ready_at=ready_at.isoformat(),
                    )
                )
        approvers = [Approval(name, entry.added_at) for name in entry.approved_by]
        have = approvals_counting(self.policy.people, book.add_quorum, approvers, initiator=None)
        if have < book.add_quorum.count:
            usable = False
            if required:
                self.denials.append(
                    reason(
                        "DESTINATION_ENTRY_UNAPPROVED",
                        "address_book",
                        destination=self.request.destination,
                        detail=f"{have} of {book.add_quorum.count}",
                    )
                )
        return usable

    # --- rules and limits -------------------------------------------------------------------------------------
    def _matches(self, match: Match, wallet: Wallet, in_book: bool) -> bool:
        request = self.request
        if match.wallets is not None and wallet.id not in match.wallets:
            return False
        if match.tiers is not None and wallet.tier not in match.tiers:
            return False
        if match.assets is not None and request.asset not in match.assets:
            return False
        if match.chains is not None and wallet.chain not in match.chains:
            return False
        if match.initiators is not None and request.initiator not in match.initiators:
            return False
        if match.destinations is not None and request.destination not in match.destinations:
            return False
        if match.in_address_book is not None and match.in_address_book != in_book:
            return False
        if match.amount_asset is not None:
            if request.asset != match.amount_asset:
                return False
            if match.amount_above is not None and not request.amount > match.amount_above:
                return False
            if match.amount_at_most is not None and not request.amount <= match.amount_at_most:
                return False
        if match.within is not None and not match.within.contains(self.weekday, self.minute):
            return False
        return not (match.outside is not None and match.outside.contains(self.weekday, self.minute))

    def _check_rules(self, rules: tuple[Rule, ...], wallet: Wallet, in_book: bool) -> list[Rule]:
        permits: list[Rule] = []
        for rule in rules:
            try:
                matched = self._matches(rule.match, wallet, in_book)
            except Exception as exc:  # noqa: BLE001 - an erroring rule denies
                self.denials.append(reason("RULE_ERROR", rule.id, reason=type(exc).__name__))
                continue
            if not matched:
                continue
            if rule.effect == "forbid":
                self.denials.append(reason("RULE_FORBIDS", rule.id, description=rule.description))
            else:
                permits.append(rule)
        if not permits:
            self.denials.append(reason("NO_PERMIT"))
        return permits

    def _check_limits(self, limits: tuple[Limit, ...], wallet: Wallet, in_book: bool) -> None:
        for limit in limits:
            try:
                if self._matches(limit.match, wallet, in_book):
                    self._check_limit(limit, wallet)
            except Exception as exc:  # noqa: BLE001 - an erroring limit denies
                self.denials.append(reason("RULE_ERROR", limit.id, reason=type(exc).__name__))

    def _check_limit(self, limit: Limit, wallet: Wallet) -> None:
        request = self.request
        same_asset = limit.asset is None or limit.asset == request.asset
        shown = self._amount_text
        if limit.kind == "single":
            if same_asset and limit.max_amount is not None and request.amount > limit.max_amount:
                self.denials.append(
                    reason(
                        "LIMIT_SINGLE_EXCEEDED",
                        limit.id,
                        amount=shown(request.amount),
                        limit=shown(limit.max_amount),
                    )
                )
            return
        if limit.kind == "balance_percent":
            if not same_asset or limit.max_percent is None:
                return
            balance = self.facts.balances.get((wallet.id, request.asset))
            if balance is None:
                self.denials.append(reason("FACT_MISSING", limit.id, fact=f"balance of {wallet.id}"))
            elif request.amount * 100 > limit.max_percent * balance:
                self.denials.append(
                    reason(
                        "LIMIT_BALANCE_PERCENT",
                        limit.id,
                        amount=shown(request.amount),
                        percent=limit.max_percent,
                        balance=shown(balance),
                    )
                )
            return
        counter = self.facts.velocity.get(limit.id)
        if counter is None:
            self.denials.append(reason("FACT_MISSING", limit.id, fact=f"velocity counter {limit.id}"))
            return
        window = _duration_text(limit.window_seconds)
        scope = "/".join(limit.per)
        if limit.max_count is not None and counter.count + 1 > limit.max_count:
            self.denials.append(
                reason(
                    "LIMIT_VELOCITY_COUNT",
                    limit.id,
                    count=counter.count + 1,
                    window=window,
                    scope=scope,
                    limit=limit.max_count,
                )
            )
        if same_asset and limit.max_amount is not None and counter.amount + request.amount > limit.max_amount:
            self.denials.append(
                reason(
                    "LIMIT_VELOCITY_AMOUNT",
                    limit.id,
                    total=shown(counter.amount + request.amount),
                    window=window,
                    scope=scope,
                    limit=shown(limit.max_amount),
                )
            )

    def _amount_text(self, amount: int) -> str:
        return self._units(self.request.asset)(amount)

    def _units(self, asset_id: str) -> Callable[[int], str]:
        asset = self.policy.assets[asset_id]

        def text(amount: int) -> str:
            whole, fraction = divmod(amount, 10**asset.decimals)
            digits = f"{whole:,}" + (("." + str(fraction).rjust(asset.decimals, "0").rstrip("0")) if fraction else "")
            return f"{digits} {asset.id}"

        return text

    # --- approvals ---------------------------------------------------------------------------------------------
    def _check_approvals(self) -> list[RequiredApproval]:
        initiator = self.request.initiator
        valid: list[Approval] = []
        seen: set[str] = set()
        for item in self.facts.approvals:
            if item.approver in seen:
                continue
            seen.add(item.approver)
            if item.approver == initiator:
                self.notes.append(reason("APPROVER_IS_INITIATOR", approver=item.approver))
            elif item.approver not in self.policy.people:
                self.notes.append(reason("APPROVER_UNKNOWN", approver=item.approver))
            elif self.request.created_at <= item.at <= self.now:  # only approvals given for this request, so far
                valid.append(item)
        missing: list[RequiredApproval] = []
        for source, needed in self.requirements:
            have = approvals_counting(self.policy.people, needed, valid, initiator=initiator)
            if have < needed.count:
                missing.append(RequiredApproval(source, needed, have))
                self.notes.append(
                    reason(
                        "APPROVALS_REQUIRED",
                        source,
                        source=source,
                        count=needed.count,
                        have=have,
                        detail=quorum_text_en(needed),
                        detail_ja=quorum_text_ja(needed),
                    )
                )
        return missing


def _duration_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"

"""Load a policy: YAML (or JSON) text → JSON Schema validation → cross-reference checks → frozen Policy.

Every problem is reported with its location (``rules[3].when.amount_above``), all at once, so an author can
fix a policy in one pass. An empty or invalid policy is an error, never a policy that allows nothing silently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from mamori.chains.bitcoin.descriptor import parse_descriptor
from mamori.chains.bitcoin.networks import BITCOIN_NETWORKS
from mamori.chains.evm.safe.versions import parse_safe_version
from mamori.errors import MamoriError
from mamori.policy.facts import normalise_address
from mamori.policy.index import index_candidates
from mamori.policy.model import (
    WEEKDAYS,
    AddressBookPolicy,
    Approvals,
    Asset,
    FindingsPolicy,
    Limit,
    Match,
    Person,
    Policy,
    Rule,
    ScreeningPolicy,
    SigningKey,
    TimeWindow,
    Wallet,
)
from mamori.policy.request import decode_key_or_signature
from mamori.policy.syntax import MAX_POLICY_BYTES, PolicyValidator, StrictLoader, parse_duration, weak_ed25519_key

TIERS = ("hot", "warm", "cold")


class PolicyError(MamoriError):
    """A policy that cannot be used; ``problems`` lists every (location, message) found."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        first = f"{problems[0][0]}: {problems[0][1]}" if problems else "empty"
        super().__init__("POLICY_INVALID", count=len(problems), first=first)

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["error"]["problems"] = [{"at": at, "problem": problem} for at, problem in self.problems]
        return body


@lru_cache(maxsize=1)
def policy_schema() -> dict[str, Any]:
    text = resources.files("mamori.content").joinpath("policy.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_policy_text(text: str | bytes) -> Policy:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError([("(file)", f"larger than {MAX_POLICY_BYTES // 1024} KiB: not a policy")])
    try:
        document = yaml.load(raw, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass, stricter still
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:  # PyYAML raises ValueError on bad dates
        raise PolicyError([("(file)", f"not valid YAML: {exc}")]) from exc
    except RecursionError as exc:  # nested deeper than the parser's recursion: no policy is shaped like that
        raise PolicyError([("(file)", "nested too deeply: not a policy")]) from exc
    return load_policy(document, digest=hashlib.sha256(raw).hexdigest())


def load_policy(document: Any, *, digest: str = "") -> Policy:
    if document is None or document == {}:
        raise PolicyError([("(file)", "the policy is empty")])
    validator = PolicyValidator(policy_schema())
    problems = [
        (_location(error.absolute_path), error.message)
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if problems:
        raise PolicyError(problems)
    builder = _Builder(document)
    policy = builder.build(digest)
    if builder.problems:
        raise PolicyError(builder.problems)
    return replace(
        policy, candidates=index_candidates(policy), indexed_rules=policy.rules, indexed_limits=policy.limits
    )


def _location(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


class _Builder:
    """Builds the frozen policy from a schema-valid document, collecting cross-reference problems."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.doc = document
        self.problems: list[tuple[str, str]] = []
        self.assets: dict[str, Asset] = {}
        self.wallets: dict[str, Wallet] = {}
        self.people: dict[str, Person] = {}

    def problem(self, at: str, message: str) -> None:
        self.problems.append((at, message))

    def build(self, digest: str) -> Policy:
        doc = self.doc
        timezone = doc["timezone"]
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a directory, not a zone
            self.problem("timezone", f"unknown time zone {timezone!r}")
        self.assets = {k: self._asset(k, v) for k, v in doc["assets"].items()}
        self.wallets = {k: self._wallet(k, v) for k, v in doc["wallets"].items()}
        self.people = {
            k: Person(k, v["organisation"], v["employee"], frozenset(v.get("groups", [])))
            for k, v in doc["people"].items()
        }
        sor = doc.get("system_of_record") or {}
        keys = tuple(self._key(i, item) for i, item in enumerate(sor.get("keys", [])))
        require_signed = bool(sor.get("require_signed_request", True))
        if require_signed and not keys:
            self.problem("system_of_record", "signed requests are required but no system-of-record key is given")
        rules = tuple(self._rule(i, item) for i, item in enumerate(doc["rules"]))
        if not any(rule.effect == "permit" for rule in rules):
            self.problem("rules", "no rule permits anything: every withdrawal would be denied")
        seen: set[str] = set()
        for at, identifier in [(f"rules[{i}]", r.id) for i, r in enumerate(rules)] + [
            (f"limits[{i}]", item["id"]) for i, item in enumerate(doc.get("limits", []))
        ]:
            if identifier in seen:
                self.problem(f"{at}.id", f"duplicate id {identifier!r}")
            seen.add(identifier)
        return Policy(
            id=doc["id"],
            timezone=timezone,
            system_of_record=keys,
            require_signed_request=require_signed,
            require_transaction=frozenset(doc.get("require_transaction", TIERS)),
            assets=self.assets,
            wallets=self.wallets,
            people=self.people,
            rules=rules,
            limits=tuple(self._limit(i, item) for i, item in enumerate(doc.get("limits", []))),
            address_book=self._address_book(doc.get("address_book") or {}),
            findings=self._findings(doc.get("findings") or {}),
            screening=ScreeningPolicy(
                deny=bool((doc.get("screening") or {}).get("deny", True)),
                lists=frozenset((doc.get("screening") or {}).get("lists", [])),
                require=frozenset((doc.get("screening") or {}).get("require", [])),
            ),
            fee_caps=self._fee_caps(doc.get("fee_caps") or {}),
            request_max_age_seconds=self._duration("request_max_age", doc.get("request_max_age", "24h")),
            change_quorum=self._change_quorum(doc.get("governance") or {}),
            digest=digest,
        )

    def _fee_caps(self, item: Mapping[str, str]) -> dict[str, int]:
        caps: dict[str, int] = {}
        for asset_id, text in item.items():
            amount, named = self._amount(f"fee_caps.{asset_id}", text)
            asset = self.assets.get(asset_id)
            if named != asset_id:
                self.problem(f"fee_caps.{asset_id}", f"the cap of {asset_id} must be written in {asset_id}")
            elif asset is not None and asset.contract is not None:
                self.problem(f"fee_caps.{asset_id}", "fees are paid in a chain's native asset, not a token")
            caps[asset_id] = amount
        return caps

    def _duration(self, at: str, text: str) -> int:
        try:
            return parse_duration(text)
        except ValueError as exc:
            self.problem(at, str(exc))
            return 0

    def _asset(self, name: str, item: Mapping[str, Any]) -> Asset:
        contract: bytes | None = None
        if "contract" in item:
            try:
                contract = bytes.fromhex(normalise_address(item["chain"], item["contract"])[2:])
            except (MamoriError, ValueError):
                self.problem(f"assets.{name}.contract", "not a valid contract address for its chain")
        return Asset(name, item["chain"], item["decimals"], contract)

    def _wallet(self, name: str, item: Mapping[str, Any]) -> Wallet:
        at = f"wallets.{name}"
        for asset in item["assets"]:
            known = self.assets.get(asset)
            if known is None:
                self.problem(f"{at}.assets", f"asset {asset!r} is not defined")
            elif known.chain != item["chain"]:
                self.problem(f"{at}.assets", f"asset {asset!r} is on {known.chain}, the wallet on {item['chain']}")
        address = item["address"]
        try:
            address = normalise_address(item["chain"], address)
        except MamoriError as exc:
            self.problem(f"{at}.address", exc.message_en)
        version = item.get("safe_version")
        if version is not None:
            try:
                parse_safe_version(version)
            except MamoriError as exc:
                self.problem(f"{at}.safe_version", exc.message_en)
        owners: list[str] = []
        for index, owner in enumerate(item.get("owners", [])):
            try:
                owners.append(normalise_address(item["chain"], owner))
            except MamoriError as exc:
                self.problem(f"{at}.owners[{index}]", exc.message_en)
        threshold = item.get("threshold")
        if threshold is not None and not 1 <= threshold <= len(owners):
            self.problem(f"{at}.threshold", "needs owners, and must be between 1 and their number")
        if owners and version is None:
            self.problem(f"{at}.safe_version", "a Safe wallet with owners needs its safe_version")
        descriptor = None
        if "descriptor" in item:
            network = BITCOIN_NETWORKS.get(item["chain"])
            if network is None:
                self.problem(f"{at}.descriptor", "a descriptor is for a Bitcoin wallet (chain bip122:…)")
            else:
                try:
                    descriptor = parse_descriptor(item["descriptor"], network, name=name)
                except MamoriError as exc:
                    self.problem(f"{at}.descriptor", exc.message_en)
        return Wallet(
            name, item["tier"], item["chain"], address, frozenset(item["assets"]), version, tuple(owners), threshold,
            descriptor,
        )  # fmt: skip

    def _key(self, index: int, item: Mapping[str, Any]) -> SigningKey:
        try:
            raw = decode_key_or_signature(item["ed25519"], field="ed25519", size=32)
        except MamoriError:
            self.problem(f"system_of_record.keys[{index}].ed25519", "not a 32-byte Ed25519 public key")
            raw = bytes(32)
        if weak_ed25519_key(raw):
            self.problem(f"system_of_record.keys[{index}].ed25519", "a small-order point: anyone can forge for it")
        return SigningKey(item["id"], raw)

    def _approvals(self, at: str, item: Mapping[str, Any]) -> Approvals:
        groups = frozenset(item.get("groups", []))
        eligible = [p for p in self.people.values() if not groups or p.groups & groups]
        for group in groups:
            if not any(group in p.groups for p in self.people.values()):
                self.problem(f"{at}.groups", f"group {group!r} has no members")
        approvals = Approvals(
            item["count"], groups, item.get("min_employees", 0), bool(item.get("distinct_organisations", False))
        )
        if approvals.min_employees > approvals.count:
            self.problem(f"{at}.min_employees", "cannot exceed count")
        available = len({p.organisation for p in eligible}) if approvals.distinct_organisations else len(eligible)
        if available < approvals.count:
            self.problem(f"{at}.count", f"only {available} eligible approver(s): the quorum can never be met")
        return approvals

    def _amount(self, at: str, text: str) -> tuple[int, str]:
        """``"12.5 ETH"`` -> base units, exactly (integer arithmetic: no decimal context can round it)."""
        number, asset_id = text.split(" ")
        asset = self.assets.get(asset_id)
        if asset is None:
            self.problem(at, f"asset {asset_id!r} is not defined")
            return 0, asset_id
        whole, _, fraction = number.partition(".")
        if len(whole.lstrip("0")) > 80:  # beyond any supply; and int() refuses very long digit strings
            self.problem(at, f"{number[:20]}… is not a plausible amount")
            return 0, asset_id
        if len(fraction) > asset.decimals:
            self.problem(at, f"{number} has more decimals than {asset_id} ({asset.decimals})")
            return 0, asset_id
        return int(whole) * 10**asset.decimals + int(fraction.ljust(asset.decimals, "0") or "0"), asset_id

    def _window(self, at: str, item: Mapping[str, Any]) -> TimeWindow:
        def minutes(value: str) -> int:
            hours, mins = value.split(":")
            return int(hours) * 60 + int(mins)

        start, end = minutes(item["from"]), minutes(item["to"])
        if start > 24 * 60 or end > 24 * 60 or start == end:
            self.problem(at, "the window must span some time within 00:00–24:00")
        days = frozenset(WEEKDAYS.index(day) for day in item.get("days", WEEKDAYS))
        return TimeWindow(days, start, end)

    def _match(self, at: str, item: Mapping[str, Any]) -> Match:
        chains = {wallet.chain for wallet in self.wallets.values()}
        for key, known in (("wallet", self.wallets), ("asset", self.assets), ("initiator", self.people)):
            for name in item.get(key, []):
                if name not in known:
                    self.problem(f"{at}.{key}", f"{key} {name!r} is not defined: the condition could never hold")
        for chain in item.get("chain", []):
            if chain not in chains:
                self.problem(f"{at}.chain", f"no wallet is on chain {chain!r}: the condition could never hold")
        above = at_most = None
        amount_asset = None
        for key in ("amount_above", "amount_at_most"):
            if key in item:
                value, asset_id = self._amount(f"{at}.{key}", item[key])
                if amount_asset is not None and asset_id != amount_asset:
                    self.problem(f"{at}.{key}", "amount conditions of one rule must name the same asset")
                amount_asset = asset_id
                above, at_most = (value, at_most) if key == "amount_above" else (above, value)
        if amount_asset and "asset" in item and amount_asset not in item["asset"]:
            self.problem(f"{at}.asset", f"the amounts are in {amount_asset}, which this condition excludes")
        destinations = None
        if "destination" in item:
            destinations = frozenset(self._destination(f"{at}.destination", d) for d in item["destination"])

        def optional(key: str) -> frozenset[str] | None:
            return frozenset(item[key]) if key in item else None

        return Match(
            wallets=optional("wallet"),
            tiers=optional("tier"),
            assets=optional("asset"),
            chains=optional("chain"),
            initiators=optional("initiator"),
            destinations=destinations,
            in_address_book=item.get("in_address_book"),
            amount_above=above,
            amount_at_most=at_most,
            amount_asset=amount_asset,
            within=self._window(f"{at}.within", item["within"]) if "within" in item else None,
            outside=self._window(f"{at}.outside", item["outside"]) if "outside" in item else None,
        )

    def _destination(self, at: str, text: str) -> str:
        # A destination written for an EVM chain is compared lowercase; others exactly.
        if text.strip().lower().startswith("0x") and len(text.strip()) == 42:
            try:
                return normalise_address("eip155:1", text)
            except MamoriError as exc:
                self.problem(at, exc.message_en)
        return text.strip()

    def _rule(self, index: int, item: Mapping[str, Any]) -> Rule:
        at = f"rules[{index}]"
        approvals = self._approvals(f"{at}.approvals", item["approvals"]) if "approvals" in item else None
        if approvals is not None and item["effect"] == "forbid":
            self.problem(f"{at}.approvals", "a forbid rule cannot be overcome by approvals")
        return Rule(
            item["id"],
            item["effect"],
            self._match(f"{at}.when", item.get("when", {})),
            approvals,
            item.get("description", ""),
        )

    def _limit(self, index: int, item: Mapping[str, Any]) -> Limit:
        at = f"limits[{index}]"
        kind = item["kind"]
        max_amount = None
        asset = item.get("asset")
        if "max_amount" in item:
            max_amount, amount_asset = self._amount(f"{at}.max_amount", item["max_amount"])
            if asset is not None and asset != amount_asset:
                self.problem(f"{at}.max_amount", f"the limit is for {asset}, the amount in {amount_asset}")
            asset = amount_asset
        if asset is not None and asset not in self.assets:
            self.problem(f"{at}.asset", f"asset {asset!r} is not defined")
        window = 0
        if "window" in item:
            try:
                window = parse_duration(item["window"])
            except ValueError as exc:
                self.problem(f"{at}.window", str(exc))
        needs = {
            "single": ("max_amount",),
            "velocity": ("window",),
            "balance_percent": ("max_percent",),
        }[kind]
        for key in needs:
            if key not in item:
                self.problem(at, f"a {kind} limit needs {key}")
        if kind == "velocity" and "max_count" not in item and "max_amount" not in item:
            self.problem(at, "a velocity limit needs max_count or max_amount")
        if kind == "balance_percent" and asset is None:
            self.problem(at, "a balance_percent limit needs the asset it applies to")
        return Limit(
            id=item["id"],
            kind=kind,
            match=self._match(f"{at}.when", item.get("when", {})),
            asset=asset,
            max_amount=max_amount,
            max_count=item.get("max_count"),
            window_seconds=window,
            per=tuple(item.get("per", ["wallet", "asset"])),
            max_percent=item.get("max_percent"),
            description=item.get("description", ""),
        )

    def _address_book(self, item: Mapping[str, Any]) -> AddressBookPolicy:
        cooling = 48 * 3600
        if "cooling_off" in item:
            try:
                cooling = parse_duration(item["cooling_off"])
            except ValueError as exc:
                self.problem("address_book.cooling_off", str(exc))
        quorum = (
            self._approvals("address_book.add_quorum", item["add_quorum"]) if "add_quorum" in item else Approvals(2)
        )
        return AddressBookPolicy(cooling, quorum, frozenset(item.get("required_for", ("warm", "cold"))))

    def _change_quorum(self, item: Mapping[str, Any]) -> Approvals:
        if "change_quorum" not in item:
            return Approvals(2)
        return self._approvals("governance.change_quorum", item["change_quorum"])

    def _findings(self, item: Mapping[str, Any]) -> FindingsPolicy:
        deny = frozenset(item.get("deny", ("critical", "high")))
        if "critical" not in deny:
            self.problem("findings.deny", "critical findings always deny; 'critical' cannot be left out")
        escalate = []
        for severity, approvals in (item.get("escalate") or {}).items():
            if severity in deny:
                self.problem(f"findings.escalate.{severity}", "this severity already denies")
            escalate.append((severity, self._approvals(f"findings.escalate.{severity}", approvals)))
        return FindingsPolicy(deny, tuple(escalate))

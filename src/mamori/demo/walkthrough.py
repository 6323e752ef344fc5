"""``mamori demo``: a sample exchange on SQLite, the guard service in a child process, and the four stories the
guard exists for, each step printed as it happens.

1. a routine hot-wallet withdrawal: allowed at once, its release attestation checked offline as a signer would;
2. a cold-wallet withdrawal that needs two approvals from different organisations, and receives them;
3. the Bybit transaction (Feb 2025): what the signers really signed, denied with its reasons in both languages;
4. a request altered after the ledger signed it (DMM Bitcoin, May 2024): refused, and the refusal logged;
then the audit log, verified entry by entry against the guard's public key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.table import Table

from mamori.audit.store import AuditLog
from mamori.demo import exchange as sample
from mamori.demo.server import ServerProcess
from mamori.guard.attestation import verify_attestation
from mamori.policy.parse import load_policy_text
from mamori.store.database import create_engine


def run_walkthrough(console: Console, *, intel: Path, workdir: Path, lang: str = "both", kept: bool = True) -> bool:
    """Run the whole demo in ``workdir`` (database, guard key, server log). True when every step behaved.
    ``kept``: the folder outlives the demo (``--keep``), so the closing line may point to it."""
    database = f"sqlite:///{workdir / 'mamori.db'}"
    engine = create_engine(database)
    try:
        console.rule("0. A sample exchange on SQLite / サンプル取引所（SQLite）")
        guard_key, keys = sample.set_up_exchange(engine, guard_key_path=workdir / "guard.key", now=datetime.now(UTC))
        _show_exchange(console, load_policy_text(sample.demo_policy_text()), workdir)
        with ServerProcess(database, workdir / "guard.key", intel=intel, log=workdir / "server.log") as server:
            console.print(f"guard service / ガードサービス: {server.base_url} (mamori serve; log {workdir}/server.log)")
            with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
                walk = _Walkthrough(console, lang, client, keys, guard_key.public_key())
                walk.prepare()
                walk.routine_hot_withdrawal()
                walk.cold_withdrawal_with_two_approvals()
                walk.bybit_transaction()
                walk.altered_request()
                head_size = walk.signed_head()
        with engine.connect() as connection, connection.begin():
            report = AuditLog(connection).verify_all(public_key=guard_key.public_key())
    finally:
        engine.dispose()
    walk.say(
        f"Recomputed every entry and the Merkle tree; {report.heads_checked} signed head(s) checked with the "
        "guard key: the log is intact.",
        "全エントリとマークルツリーを再計算し、署名付きツリーヘッドをガード鍵で検証しました。ログは改ざんされていません。",
    )
    walk.expect(report.tree_size >= head_size, "the audit log verifies")
    console.rule("result / 結果")
    if walk.failures:
        console.print("[bold red]unexpected / 想定外:[/] " + "; ".join(walk.failures))
        return False
    where_en = f"Database, guard key and log: {workdir}" if kept else "To look at the database: mamori demo --keep DIR"
    where_ja = (
        f"データベース・ガード鍵・ログ: {workdir}" if kept else "データベースを確認するには: mamori demo --keep DIR"
    )
    walk.say(
        f"Every step behaved as the guard promises. {where_en}",
        f"すべての手順がガードの約束どおりに動作しました。{where_ja}",
    )
    return True


class _Walkthrough:
    def __init__(
        self,
        console: Console,
        lang: str,
        client: httpx.Client,
        keys: sample.ExchangeKeys,
        public_key: Ed25519PublicKey,
    ) -> None:
        self.console = console
        self.lang = lang
        self.client = client
        self.keys = keys
        self.public_key = public_key
        self.ledger = sample.Ledger()
        self.failures: list[str] = []

    def say(self, en: str, ja: str) -> None:
        if self.lang in ("en", "both"):
            self.console.print(en)
        if self.lang in ("ja", "both"):
            self.console.print(ja)

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            self.failures.append(what)

    def call(self, token: str, method: str, path: str, body: Any = None) -> Any:
        response = self.client.request(method, path, json=body, headers=_auth(token))
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text}")
        return response.json()

    def prepare(self) -> None:
        described = self.call(self.keys.auditor, "GET", "/v1/guard")
        self.console.print(f"screening lists / 照合リスト: {', '.join(described['screening_lists'])}")
        for wallet, eth in ((sample.COLD_WALLET, 401_347), (sample.HOT_WALLET, 100)):
            balance = {"wallet": wallet, "asset": "ETH", "amount": str(eth * sample.ETHER)}
            self.call(self.keys.initiator, "PUT", "/v1/balances", balance)
            self.console.print(f"balance reported by the ledger / 残高: {wallet} {eth:,} ETH")

    def submit(self, request_id: str, **fields: Any) -> Any:
        document = self.ledger.request(request_id, now=datetime.now(UTC), **fields)
        view = self.call(self.keys.initiator, "POST", "/v1/requests", document)
        _show_decision(self.console, view, self.lang)
        return view

    def routine_hot_withdrawal(self) -> None:
        self.console.rule("1. A routine hot-wallet withdrawal / ホットウォレットからの通常出金")
        self.say(
            "The ledger signs a request for 1 ETH to a customer and attaches the unsigned EIP-1559 transaction.",
            "基幹システムが顧客への 1 ETH の出金リクエストに署名し、未署名の EIP-1559 トランザクションを添付します。",
        )
        view = self.submit(
            "wd-demo-hot-1",
            wallet=sample.HOT_WALLET,
            amount=sample.ETHER,
            destination=sample.CUSTOMER,
            transaction=sample.hot_transfer(sample.CUSTOMER, sample.ETHER),
        )
        self.expect(view["status"] == "released", "the routine hot withdrawal is released")
        self.expect(self.signer_accepts(view), "the signer accepts the hot release")

    def cold_withdrawal_with_two_approvals(self) -> None:
        self.console.rule("2. A cold-wallet withdrawal that needs two approvals / 2 名の承認が必要なコールド出金")
        self.say(
            "100 ETH from the cold Safe to an address-book entry: the policy asks for two approvers from different "
            "organisations, one of them an employee.",
            "コールド Safe からアドレス帳の登録先へ 100 ETH。ポリシーは異なる組織の承認者 2 名（うち 1 名は従業員）を求めます。",
        )
        amount = 100 * sample.ETHER
        view = self.submit(
            "wd-demo-cold-1",
            wallet=sample.COLD_WALLET,
            amount=amount,
            destination=sample.EXCHANGE_DEPOSIT,
            transaction=sample.cold_transfer(sample.EXCHANGE_DEPOSIT, amount),
        )
        self.expect(view["status"] == "pending_approval", "the cold withdrawal waits for approvals")
        for person in ("aiko", "kenji"):
            token = self.keys.approvers[person]
            subject = self.call(token, "GET", f"/v1/requests/{view['request_id']}/approval-subject")["subject"]
            self.say(
                f"{person} checks on their own device: {subject['amount']} wei to {subject['destination']}, "
                f"safeTxHash {subject['signing_hash']}, and signs the approval digest with their personal key.",
                f"{person} が自身の端末で送金額・送金先・safeTxHash を確認し、個人鍵で承認ダイジェストに署名します。",
            )
            signed = sample.sign_approval(person, subject)
            view = self.call(token, "POST", f"/v1/requests/{view['request_id']}/approvals", signed)
            self.console.print(f"  → status / 状態: [bold]{view['status']}[/] ({len(view['approvals'])} approval(s))")
        self.expect(view["status"] == "released", "the cold withdrawal is released after two approvals")
        self.expect(self.signer_accepts(view), "the signer accepts the cold release")

    def bybit_transaction(self) -> None:
        self.console.rule("3. The Bybit transaction (Feb 2025) / Bybit の取引（2025年2月）")
        self.say(
            "The UI showed 30,000 ETH to Bybit's warm wallet; attached is what the signers really signed "
            "(Safe nonce 71).",
            "UI には Bybit のウォームウォレットへの 30,000 ETH と表示されていました。"
            "添付は署名者が実際に署名した取引（Safe nonce 71）です。",
        )
        view = self.submit(
            "wd-demo-bybit",
            wallet=sample.COLD_WALLET,
            amount=30_000 * sample.ETHER,
            destination=sample.BYBIT_WARM,
            transaction=sample.bybit_executed(),
        )
        self.expect(view["status"] == "denied", "the Bybit transaction is denied")

    def altered_request(self) -> None:
        self.console.rule("4. A request altered after signing (DMM Bitcoin, May 2024) / 署名後に改ざんされたリクエスト")
        document = self.ledger.request(
            "wd-demo-altered",
            wallet=sample.HOT_WALLET,
            amount=2 * sample.ETHER,
            destination=sample.CUSTOMER,
            now=datetime.now(UTC),
        )
        document["destination"] = "0x5852E4a5e1270372d46ecC7F8aC37d387e683D7f"  # keccak256("mamori test attacker")
        self.say(
            "Between the ledger and the guard, someone swaps the destination for their own address.",
            "基幹システムとガードの間で、何者かが送金先を自分のアドレスにすり替えます。",
        )
        refused = self.client.post("/v1/requests", json=document, headers=_auth(self.keys.initiator))
        error = refused.json()["error"]
        self.console.print(f"  → HTTP {refused.status_code} [bold red]{error['code']}[/]")
        self.say(error["message"]["en"], error["message"]["ja"])
        self.expect(
            refused.status_code == 422 and error["details"]["reason"] == "REQUEST_SIGNATURE_INVALID",
            "the altered request is refused",
        )

    def signed_head(self) -> int:
        self.console.rule("5. The audit log / 監査ログ")
        head = self.call(self.keys.auditor, "GET", "/v1/audit/head")
        self.console.print(
            f"signed tree head / 署名付きツリーヘッド: {head['tree_size']} entries, root {head['root_hash']}"
        )
        return int(head["tree_size"])

    def signer_accepts(self, view: dict[str, Any]) -> bool:
        """What the signer does before signing: check the release offline against the hash on its own screen."""
        release = view["release"]
        if release is None:
            return False
        attestation = verify_attestation(
            release["token"],
            public_key=self.public_key,
            now=datetime.now(UTC),
            expected_signing_hash=view["signing_hash"],
        )
        self.say(
            f"    signer: release attestation verified offline (guard key {attestation.key_id[:12]}…), valid until "
            f"{release['expires_at']}, for exactly {attestation.signing_hash}: sign.",
            "    署名者: リリース証明をオフラインで検証しました（署名ハッシュ一致・有効期限内）。署名してよい取引です。",
        )
        return True


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _show_exchange(console: Console, policy: Any, workdir: Path) -> None:
    table = Table("wallet", "tier", "address", title=f"policy {policy.id} ({policy.digest[:12]}) — {workdir}")
    for wallet in policy.wallets.values():
        table.add_row(wallet.id, wallet.tier, wallet.address)
    console.print(table)
    people = ", ".join(f"{p.id} ({p.organisation}{'' if p.employee else ', vendor'})" for p in policy.people.values())
    console.print(f"people / 担当者: {people}")
    console.print(f"address book / アドレス帳: {sample.EXCHANGE_DEPOSIT} (approved by kenji and vera, 7 days ago)")


def _show_decision(console: Console, view: dict[str, Any], lang: str) -> None:
    decision = view["decision"]
    colour = {"allow": "green", "deny": "red", "needs_approval": "yellow"}[decision["decision"]]
    console.print(f"  → decision / 判定: [bold {colour}]{decision['decision']}[/]  status / 状態: {view['status']}")
    if view["signing_hash"]:
        console.print(f"    signing hash / 署名ハッシュ: {view['signing_hash']}")
    counts: dict[str, int] = {}
    for reason in decision["reasons"]:
        counts[reason["code"]] = counts.get(reason["code"], 0) + 1
        if counts[reason["code"]] > 1:
            continue  # the first of each code; GET /v1/requests/{id} has them all
        console.print(f"    [bold]{reason['code']}[/]")
        if lang in ("en", "both"):
            console.print(f"      {reason['message']['en']}")
        if lang in ("ja", "both"):
            console.print(f"      {reason['message']['ja']}")
    for code, count in counts.items():
        if count > 1:
            console.print(f"    (+{count - 1} more {code} / 同種の理由があと {count - 1} 件)")
    for needed in decision["required_approvals"]:
        console.print(
            f"    needs {needed['count']} approval(s) from {', '.join(needed['groups'])}; have {needed['have']}"
        )

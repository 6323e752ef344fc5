"""Reason codes of policy decisions, with messages in English and Japanese (docs/codes.md lists them).

Codes are part of the interface: never renamed, never reused. Templates take the reason's details.
"""

from __future__ import annotations

from collections.abc import Mapping

REASON_CATALOG: Mapping[str, tuple[str, str]] = {
    # --- the request and where it came from ---------------------------------------------------------------
    "REQUEST_UNSIGNED": (
        "The request is not signed by the exchange's system of record.",
        "リクエストに取引所の基幹システム（システム・オブ・レコード）の署名がありません。",
    ),
    "REQUEST_SIGNATURE_INVALID": (
        "The request's signature does not verify with key {key_id}: it was altered after the ledger signed it, or the "
        "ledger never signed it (DMM Bitcoin's withdrawal request was altered in transit, 2024).",
        "リクエストの署名が鍵 {key_id} で検証できません。基幹システムの署名後に改ざんされたか、署名されていません"
        "（2024年の DMM Bitcoin 事件では出金リクエストが途中で改ざんされました）。",
    ),
    "REQUEST_KEY_UNKNOWN": (
        "Key {key_id} is not a system-of-record key of this policy.",
        "鍵 {key_id} はこのポリシーの基幹システム鍵ではありません。",
    ),
    "INITIATOR_UNKNOWN": (
        "The initiator {initiator} is not a person or system in this policy: separation of duties cannot be checked.",
        "起票者 {initiator} はこのポリシーに登録されていません。職務分掌を確認できません。",
    ),
    "WALLET_UNKNOWN": ("Wallet {wallet} is not in the policy.", "ウォレット {wallet} はポリシーに登録されていません。"),
    "ASSET_NOT_ALLOWED": (
        "Asset {asset} is not an asset of wallet {wallet} in this policy.",
        "資産 {asset} はこのポリシーでウォレット {wallet} の資産ではありません。",
    ),
    "CHAIN_MISMATCH": (
        "The request is for chain {request_chain}, but wallet {wallet} is on {wallet_chain}.",
        "リクエストはチェーン {request_chain} 向けですが、ウォレット {wallet} は {wallet_chain} 上にあります。",
    ),
    # --- the transaction against the request --------------------------------------------------------------
    "TX_MISSING": (
        "Wallets of tier {tier} need the exact transaction to be signed attached to the request.",
        "{tier} ウォレットのリクエストには、署名対象のトランザクションそのものの添付が必要です。",
    ),
    "TX_UNVERIFIABLE": (
        "The attached transaction cannot be verified ({reason}): the withdrawal is denied.",
        "添付されたトランザクションを検証できません（{reason}）。出金は拒否されます。",
    ),
    "TX_DESTINATION_MISMATCH": (
        "The transaction pays {actual}, but the request says {expected}.",
        "トランザクションの送金先は {actual} ですが、リクエストでは {expected} です。",
    ),
    "TX_AMOUNT_MISMATCH": (
        "The transaction moves {actual}, but the request says {expected} (base units).",
        "トランザクションの送金額は {actual} ですが、リクエストでは {expected} です（基本単位）。",
    ),
    "TX_ASSET_MISMATCH": (
        "The transaction moves {actual}, but the request is for {expected}.",
        "トランザクションが移動する資産は {actual} ですが、リクエストは {expected} です。",
    ),
    "TX_WALLET_MISMATCH": (
        "The transaction is made by {actual}, but the request is for wallet {wallet} ({expected}).",
        "トランザクションの実行元は {actual} ですが、リクエストはウォレット {wallet}（{expected}）です。",
    ),
    "TX_INPUT_NOT_WALLET": (
        "Input(s) {inputs} of the PSBT do not provably spend wallet {wallet}'s coins (their scripts do not re-derive "
        "from its descriptor): a withdrawal spends only its own wallet's funds.",
        "PSBT の入力 {inputs} はウォレット {wallet} の資金であると証明できません（スクリプトがディスクリプタから再導出され"
        "ません）。出金は自ウォレットの資金のみを使います。",
    ),
    "TX_NOT_A_TRANSFER": (
        "The transaction is not exactly one plain transfer ({detail}): it cannot be matched to a withdrawal request.",
        "トランザクションは単純な送金 1 件ではありません（{detail}）。出金リクエストと照合できません。",
    ),
    "TX_KIND_MISMATCH": (
        "Wallet {wallet} is a {expected} wallet, but the attached transaction is a {actual} transaction.",
        "ウォレット {wallet} は {expected} ウォレットですが、添付のトランザクションは {actual} トランザクションです。",
    ),
    "FEE_EXCESSIVE": (
        "The transaction may pay up to {fee} in network fees, above the cap {cap}: fees leave the wallet on top of the amount.",
        "トランザクションのネットワーク手数料は最大 {fee} で、上限 {cap} を超えています。手数料は送金額とは別にウォレットから支払われます。",
    ),
    "FEE_CAP_MISSING": (
        "The policy sets no fee cap for {asset}: a raw transaction's network fee cannot be bounded, so it is denied.",
        "ポリシーに {asset} の手数料上限がありません。生トランザクションのネットワーク手数料を制限できないため拒否します。",
    ),
    "REQUEST_STALE": (
        "The request was created at {created_at}; at {now} it is {problem}.",
        "リクエストの作成日時は {created_at} です。{now} の時点で{problem_ja}。",
    ),
    # --- verification, screening, address book --------------------------------------------------------------
    "FINDING_DENIES": (
        "Verification found {finding} ({severity}) and this policy denies {severity} findings: {message}",
        "検証で {finding}（{severity}）が見つかりました。このポリシーは {severity} の検出事項を拒否します: {message_ja}",
    ),
    "SCREENING_HIT": (
        "{address} is on list {list} (version {version}) as {listed_as}.",
        "{address} はリスト {list}（版 {version}）に {listed_as} として掲載されています。",
    ),
    "DESTINATION_NOT_IN_ADDRESS_BOOK": (
        "Destination {destination} is not in the address book, which {tier} wallets require.",
        "送金先 {destination} はアドレス帳にありません。{tier} ウォレットではアドレス帳への登録が必要です。",
    ),
    "DESTINATION_COOLING_OFF": (
        "Destination {destination} was added to the address book at {added_at}; it may receive funds from {ready_at}.",
        "送金先 {destination} は {added_at} にアドレス帳に追加されました。{ready_at} 以降に送金できます。",
    ),
    "DESTINATION_ENTRY_UNAPPROVED": (
        "The address-book entry for {destination} lacks the approvals an entry needs ({detail}).",
        "{destination} のアドレス帳登録に必要な承認が不足しています（{detail}）。",
    ),
    # --- rules and limits -------------------------------------------------------------------------------------
    "RULE_FORBIDS": (
        "Rule {rule} forbids this withdrawal. {description}",
        "ルール {rule} がこの出金を禁止しています。{description}",
    ),
    "NO_PERMIT": (
        "No rule permits this withdrawal: denied by default.",
        "この出金を許可するルールがありません（デフォルトで拒否）。",
    ),
    "RULE_ERROR": (
        "Rule {rule} could not be evaluated ({reason}): the withdrawal is denied.",
        "ルール {rule} を評価できませんでした（{reason}）。出金は拒否されます。",
    ),
    "FACT_MISSING": (
        "{fact} is needed to evaluate {rule} but was not provided: the withdrawal is denied.",
        "{rule} の評価に必要な {fact} が提供されていません。出金は拒否されます。",
    ),
    "LIMIT_SINGLE_EXCEEDED": (
        "{amount} exceeds the single-withdrawal limit {limit} of {rule}.",
        "{amount} は {rule} の 1 回あたりの上限 {limit} を超えています。",
    ),
    "LIMIT_VELOCITY_COUNT": (
        "This would be withdrawal number {count} within {window} ({scope}); {rule} allows {limit}.",
        "この出金は {window} 以内で {count} 件目になります（{scope}）。{rule} の上限は {limit} 件です。",
    ),
    "LIMIT_VELOCITY_AMOUNT": (
        "This would bring the total within {window} ({scope}) to {total}; {rule} allows {limit}.",
        "この出金で {window} 以内の合計（{scope}）が {total} になります。{rule} の上限は {limit} です。",
    ),
    "LIMIT_BALANCE_PERCENT": (
        "{amount} is more than {percent}% of the wallet's balance {balance} ({rule}).",
        "{amount} はウォレット残高 {balance} の {percent}% を超えています（{rule}）。",
    ),
    # --- approvals ---------------------------------------------------------------------------------------------
    "APPROVALS_REQUIRED": (
        "{source} needs {count} approval(s){detail}; {have} valid so far.",
        "{source} には {count} 件の承認{detail_ja}が必要です。現在有効な承認は {have} 件です。",
    ),
    "APPROVER_IS_INITIATOR": (
        "The approval by {approver} does not count: the initiator never approves their own withdrawal.",
        "{approver} による承認は無効です。出金の起票者は自身の出金を承認できません（職務分掌）。",
    ),
    "APPROVER_UNKNOWN": (
        "The approval by {approver} does not count: {approver} is not a person in this policy.",
        "{approver} による承認は無効です。{approver} はこのポリシーに登録されていません。",
    ),
    "PERMITTED": ("Permitted by rule {rule}.", "ルール {rule} により許可されています。"),
}

DENY_CODES = frozenset(REASON_CATALOG) - {
    "APPROVALS_REQUIRED",
    "APPROVER_IS_INITIATOR",
    "APPROVER_UNKNOWN",
    "PERMITTED",
}

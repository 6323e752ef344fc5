"""The finding catalog: every code mamori reports, its severity, and its message in English and Japanese.

Codes are part of the interface (docs/codes.md is checked against this table by the tests): they never change
meaning once released and are never reused. Templates take the finding's details as format fields.
"""

from __future__ import annotations

from collections.abc import Mapping

FINDING_CATALOG: Mapping[str, tuple[str, str, str]] = {
    # --- critical: never sign ---------------------------------------------------------------------------
    "DELEGATECALL_UNTRUSTED": (
        "critical",
        "DELEGATECALL to {target}, which is not a trusted Safe library: its code runs with the wallet's own "
        "storage and can replace the wallet's implementation or owners (how Bybit's cold wallet was taken, 2025).",
        "信頼済みの Safe ライブラリではない {target} への DELEGATECALL です。呼び出し先のコードはウォレット自身の"
        "ストレージ上で実行され、実装やオーナーを書き換えられます（2025年に Bybit のコールドウォレットが奪われた手口）。",
    ),
    "IMPLEMENTATION_CHANGE": (
        "critical",
        "Changes the wallet's implementation (singleton) to {target}: whoever controls that code controls "
        "every asset in the wallet.",
        "ウォレットの実装（シングルトン）を {target} に変更します。そのコードを支配する者がウォレット内の全資産を支配します。",
    ),
    "SIGNATURE_MISMATCH": (
        "critical",
        "Signature {source} recovers to {recovered}, not to {expected}, for this transaction's hash: it was made "
        "for a different transaction, so what you are shown is not what was signed.",
        "署名 {source} はこのトランザクションのハッシュに対して {expected_ja} ではなく {recovered} に復元されます。"
        "別のトランザクションに対して作られた署名であり、表示内容と実際に署名された内容が一致しません。",
    ),
    "HASH_MISMATCH": (
        "critical",
        "The record claims safeTxHash {claimed}, but its fields hash to {computed}: the record does not "
        "describe the transaction it names.",
        "レコードは safeTxHash を {claimed} としていますが、フィールドから計算すると {computed} になります。"
        "レコードの内容と名乗っているトランザクションが一致しません。",
    ),
    "INVALID_OPERATION": (
        "critical",
        "Operation {operation} is not valid here ({reason}): the transaction cannot do what it claims.",
        "オペレーション {operation} はここでは無効です（{reason_ja}）。トランザクションは表示どおりに動作しません。",
    ),
    "CALLDATA_MALFORMED": (
        "critical",
        "Call data for {function} cannot be decoded ({reason}): what it does cannot be verified.",
        "{function} のコールデータをデコードできません（{reason}）。動作を検証できません。",
    ),
    "SIGNATURE_MALFORMED": (
        "critical",
        "Signature {source} cannot be decoded ({reason}).",
        "署名 {source} をデコードできません（{reason}）。",
    ),
    "CHAIN_ID_MISMATCH": (
        "critical",
        "The transaction is for chain {actual}, but chain {expected} was expected: it would execute elsewhere.",
        "このトランザクションはチェーン {actual} 向けですが、想定はチェーン {expected} です。別のチェーンで実行されます。",
    ),
    "EIP7702_DELEGATION": (
        "critical",
        "EIP-7702 authorization by {authority} delegates the account's code to {delegate}: that code will "
        "control everything the account holds.",
        "{authority} による EIP-7702 認可は、アカウントのコードを {delegate} に委任します。"
        "そのコードがアカウントの全資産を支配します。",
    ),
    "TX_SIGNATURE_INVALID": (
        "critical",
        "The transaction's signature is invalid ({reason}).",
        "トランザクションの署名が無効です（{reason}）。",
    ),
    "SENDER_MISMATCH": (
        "critical",
        "The transaction is signed by {recovered}, not by the expected sender {expected}.",
        "トランザクションの署名者は {recovered} であり、想定される送信者 {expected} ではありません。",
    ),
    "TX_INVALID": (
        "critical",
        "The transaction breaks its own type's rules ({reason}): nodes will reject it, so what is signed is not a "
        "working withdrawal.",
        "トランザクションが自身の種別の規則に違反しています（{reason}）。ノードに拒否されるため、署名しても有効な出金になりません。",
    ),
    # Bitcoin PSBTs (verify/psbt.py)
    "CHANGE_NOT_OURS": (
        "critical",
        "Output {output} ({address}, {amount}) claims a derivation of our wallet ({claimed}) that does not hold: "
        "{why}. An output posing as change that is not provably ours is how the change-substitution attack pays "
        "someone else.",
        "出力 {output}（{address}、{amount}）は自社ウォレットの導出パス（{claimed}）を名乗っていますが、成り立ちません"
        "（{why_ja}）。自社のものと証明できないお釣りは、第三者に送金するお釣りすり替え攻撃の手口です。",
    ),
    "NON_WITNESS_UTXO_MISMATCH": (
        "critical",
        "Input {input}: the previous transaction given hashes to {computed}, not to the outpoint's txid {txid}: the "
        "amount it shows cannot be trusted.",
        "入力 {input}: 添付された前トランザクションのハッシュは {computed} で、参照先 txid {txid} と一致しません。"
        "示された金額は信頼できません。",
    ),
    "INVALID_SIGNATURE": (
        "critical",
        "Input {input}: the signature of {pubkey} does not verify for this transaction ({reason}): it was made for "
        "something else.",
        "入力 {input}: {pubkey} の署名はこのトランザクションに対して検証できません（{reason}）。別の内容に対する署名です。",
    ),
    "UTXO_SCRIPT_MISMATCH": (
        "critical",
        "Input {input}: the {script} given does not hash to the script of the output it spends ({reason}): what would "
        "be signed is not what the coins require.",
        "入力 {input}: 添付された {script} が使用する出力のスクリプトと一致しません（{reason}）。署名内容が資金の条件と"
        "一致しません。",
    ),
    "FEE_NEGATIVE": (
        "critical",
        "The outputs pay {outputs} but the inputs hold {inputs}: the transaction cannot be valid as shown.",
        "出力の合計 {outputs} が入力の合計 {inputs} を超えています。表示どおりのトランザクションは成立しません。",
    ),
    # --- high: do not sign without a deliberate decision -----------------------------------------------
    "SIGNER_NOT_OWNER": (
        "critical",
        "Signature {source} is by {signer}, who is not an owner of the Safe: it cannot count toward the quorum, "
        "and someone is presenting it as if it did.",
        "署名 {source} の署名者 {signer} は Safe のオーナーではありません。定足数に数えられない署名が、"
        "数えられるかのように提示されています。",
    ),
    "SIGNER_UNVERIFIED": (
        "high",
        "Signature {source} recovers to {recovered}, but the Safe's owners are not known here, and the record's "
        "own claim proves nothing: pass a --safes file with the owners to verify it.",
        "署名 {source} は {recovered} に復元されますが、Safe のオーナーが不明です。レコード自身の主張は証明になりません。"
        "検証するにはオーナーを記載した --safes ファイルを指定してください。",
    ),
    "OWNER_CHANGE": (
        "high",
        "Changes the wallet's owners: {change}.",
        "ウォレットのオーナーを変更します: {change_ja}。",
    ),
    "THRESHOLD_CHANGE": (
        "high",
        "Changes the number of signatures required to {threshold}.",
        "必要な署名数を {threshold} に変更します。",
    ),
    "MODULE_CHANGE": (
        "high",
        "{action} module {module}: a module can move assets without the owners' signatures.",
        "モジュール {module} を{action_ja}します。モジュールはオーナーの署名なしで資産を移動できます。",
    ),
    "GUARD_CHANGE": (
        "high",
        "Sets the {guard_kind} guard to {guard}: a guard can block or allow every future transaction.",
        "{guard_kind_ja}ガードを {guard} に設定します。ガードは今後のすべてのトランザクションを許可・拒否できます。",
    ),
    "FALLBACK_HANDLER_CHANGE": (
        "high",
        "Sets the fallback handler to {handler}: it answers calls the wallet does not know, including "
        "signature checks (EIP-1271).",
        "フォールバックハンドラを {handler} に設定します。ウォレットが知らない呼び出し（EIP-1271 の署名確認を含む）に応答します。",
    ),
    "GAS_REFUND_TRAP": (
        "high",
        "gasPrice is {gas_price} with gas token {gas_token} and refund receiver {refund_receiver}: executing "
        "pays a refund out of the wallet to that receiver.",
        "gasPrice が {gas_price}、ガストークンが {gas_token}、払い戻し先が {refund_receiver} です。"
        "実行するとウォレットから払い戻し先へ支払いが発生します。",
    ),
    "UNLIMITED_APPROVAL": (
        "high",
        "Approves {spender} to spend an unlimited amount of token {token}.",
        "{spender} にトークン {token} を無制限に使用する権限を与えます。",
    ),
    "MESSAGE_SIGNATURE": (
        "high",
        "Signs an off-chain message in the wallet's name (SignMessageLib): such a signature can authorise "
        "token permits or trade orders. Message: {message}.",
        "ウォレットの名義でオフチェーンメッセージに署名します（SignMessageLib）。この署名でトークンの permit や"
        "注文が承認され得ます。メッセージ: {message}。",
    ),
    "SELF_CALL_UNKNOWN": (
        "high",
        "Calls the wallet itself with function {selector}, which mamori cannot decode: such a call reaches the "
        "wallet's fallback handler or an administrative entry point and can change how the wallet behaves.",
        "ウォレット自身の関数 {selector} を呼び出しますが、mamori はデコードできません。この呼び出しはウォレットの"
        "フォールバックハンドラや管理用の入口に届き、ウォレットの動作を変更し得ます。",
    ),
    "NESTED_SAFE_APPROVAL": (
        "high",
        "Approves hash {hash} on Safe {target}: a signature in all but name for a transaction mamori cannot see. "
        "Verify the transaction behind that hash on its own first.",
        "Safe {target} 上でハッシュ {hash} を承認します。mamori が内容を確認できないトランザクションへの実質的な署名です。"
        "先にそのハッシュが表すトランザクションを個別に検証してください。",
    ),
    "NESTED_SAFE_EXECUTION": (
        "high",
        "Executes a transaction on {target} through execTransaction: if this wallet is one of its owners, the call "
        "itself counts as this wallet's approval. The inner call shown is what the data claims.",
        "execTransaction で {target} 上のトランザクションを実行します。このウォレットが {target} のオーナーの場合、"
        "この呼び出し自体がこのウォレットの承認として扱われます。表示される内側の呼び出しはデータ上の主張です。",
    ),
    "MODULE_TRANSACTION": (
        "high",
        "Executes a transaction on Safe {target} as its module: no owner of {target} signs it.",
        "Safe {target} のモジュールとしてトランザクションを実行します。{target} のオーナーは誰も署名しません。",
    ),
    "REPLAYABLE_NO_CHAIN_ID": (
        "high",
        "The legacy transaction has no chain id (pre-EIP-155): it can be replayed on every EVM chain.",
        "レガシートランザクションにチェーン ID がありません（EIP-155 以前）。すべての EVM チェーンで再送できます。",
    ),
    # Bitcoin PSBTs (verify/psbt.py)
    "FEE_EXCESSIVE": (
        "high",
        "The fee is {fee} ({fee_rate} sat/vB, estimated from the final size): above the limit of {limit}.",
        "手数料は {fee}（最終サイズからの推定で {fee_rate} sat/vB）で、上限 {limit} を超えています。",
    ),
    "SIGHASH_NON_DEFAULT": (
        "high",
        "Input {input} is signed or asked to be signed with sighash {sighash}: the signature would not commit to "
        "{uncommitted}, which anyone holding it could then change.",
        "入力 {input} の sighash は {sighash} です。署名が {uncommitted_ja} を固定しないため、署名を入手した誰もが"
        "変更できます。",
    ),
    "MISSING_UTXO": (
        "high",
        "Input {input} carries neither the previous transaction nor its output: its amount, and so the fee, cannot "
        "be verified.",
        "入力 {input} には前トランザクションもその出力も含まれていません。金額と手数料を検証できません。",
    ),
    "SEGWIT_UTXO_ONLY": (
        "high",
        "Input {input} (segwit v0) carries only its output, not the full previous transaction: a signer cannot "
        "know the amount for sure (the fee attack of CVE-2020-14199).",
        "入力 {input}（segwit v0）には出力のみが含まれ、前トランザクション全体がありません。署名者は金額を確定できません"
        "（CVE-2020-14199 の手数料攻撃）。",
    ),
    "OUTPUT_SCRIPT_UNKNOWN": (
        "high",
        "Output {output} ({amount}) pays a script of no standard form: where it goes cannot be stated.",
        "出力 {output}（{amount}）は標準形式でないスクリプトへの支払いです。送金先を特定できません。",
    ),
    "INPUT_SCRIPT_UNKNOWN": (
        "high",
        "Input {input} spends a script of no form mamori verifies ({reason}): its signatures cannot be checked.",
        "入力 {input} は mamori が検証できない形式のスクリプトを使用しています（{reason}）。署名を検証できません。",
    ),
    # --- medium: explain before signing ----------------------------------------------------------------
    "UNKNOWN_CALL": (
        "medium",
        "Calls function {selector} on {target}, which mamori cannot decode: what it does is not verified.",
        "{target} の関数 {selector} を呼び出しますが、mamori はデコードできません。動作は検証されていません。",
    ),
    "SIGNATURE_ORDER": (
        "medium",
        "Signers are not in the strictly ascending order the Safe requires ({reason}): execution would revert.",
        "署名者が Safe の要求する厳密な昇順になっていません（{reason}）。実行は失敗します。",
    ),
    "CONTRACT_SIGNATURE_UNVERIFIED": (
        "medium",
        "Signature {source} is a contract signature (EIP-1271) by {owner}: it cannot be verified offline.",
        "署名 {source} は {owner} によるコントラクト署名（EIP-1271）であり、オフラインでは検証できません。",
    ),
    "APPROVED_HASH_UNVERIFIED": (
        "medium",
        "Signature {source} relies on an on-chain approval by {owner}: it cannot be verified offline.",
        "署名 {source} は {owner} によるオンチェーン承認に依存しており、オフラインでは検証できません。",
    ),
    "CALLDATA_NONCANONICAL": (
        "medium",
        "Call data for {function} is not in canonical ABI form (extra bytes, padding or offsets): the bytes "
        "carry more than the decoded call shows.",
        "{function} のコールデータが正規の ABI 形式ではありません（余分なバイト・パディング・オフセット）。"
        "デコード結果に現れない情報が含まれています。",
    ),
    "VALUE_WITH_CALL": (
        "medium",
        "Sends {amount} ETH ({value} wei) along with a call to {target}: the value goes to that contract, whatever "
        "the call is said to do.",
        "{target} への呼び出しと同時に {amount} ETH（{value} wei）を送金します。呼び出しの内容にかかわらず、"
        "この ETH はそのコントラクトに渡ります。",
    ),
    "CONTRACT_CREATION": (
        "medium",
        "Creates a contract ({size} bytes of init code): the code deployed is not verified.",
        "コントラクトを作成します（初期化コード {size} バイト）。デプロイされるコードは検証されていません。",
    ),
    # Bitcoin PSBTs (verify/psbt.py)
    "LOCKTIME_UNUSUAL": (
        "medium",
        "The transaction's lock time is {locktime} ({reason}).",
        "トランザクションのロックタイムは {locktime} です（{reason_ja}）。",
    ),
    "PSBT_MODIFIABLE": (
        "medium",
        "The PSBT lets {what} be added after signing (PSBT_GLOBAL_TX_MODIFIABLE): what you sign now may not be the "
        "whole transaction.",
        "この PSBT は署名後に {what_ja} を追加できます（PSBT_GLOBAL_TX_MODIFIABLE）。今署名する内容が取引の全体とは"
        "限りません。",
    ),
    "DATA_OUTPUT": (
        "medium",
        "Output {output} is an OP_RETURN data output carrying {size} bytes ({amount} burnt).",
        "出力 {output} は {size} バイトのデータを持つ OP_RETURN 出力です（{amount} は失われます）。",
    ),
    # --- info -------------------------------------------------------------------------------------
    "GAS_REFUND": (
        "high",
        "gasPrice is {gas_price} with baseGas {base_gas}: executing pays whoever submits it (gas used + baseGas) × "
        "the lower of gasPrice and the gas price they choose, in ETH out of the wallet; anyone holding the signed "
        "transaction can turn that into a withdrawal.",
        "gasPrice が {gas_price}、baseGas が {base_gas} です。実行時、提出者に（使用ガス + baseGas）× "
        "（gasPrice と提出者が選ぶガス価格の低い方）の ETH がウォレットから支払われます。署名済みトランザクションを"
        "持つ誰もがこれを出金に変えられます。",
    ),
    "QUORUM_NOT_MET": (
        "info",
        "{valid} valid owner signature(s) of the {threshold} required.",
        "有効なオーナー署名は必要数 {threshold} のうち {valid} 件です。",
    ),
    "ONCHAIN_REJECTION": (
        "info",
        "On-chain rejection: an empty transaction that uses up nonce {nonce} to cancel what was queued there.",
        "オンチェーン拒否: 空のトランザクションでナンス {nonce} を消費し、そのナンスで待機中の取引を取り消します。",
    ),
    # Bitcoin PSBTs (verify/psbt.py)
    "EXTERNAL_OUTPUT": (
        "info",
        "Output {output} pays {amount} to {address}, which is not ours: compare it with the withdrawal request.",
        "出力 {output} は自社以外の {address} に {amount} を支払います。出金依頼と照合してください。",
    ),
    "TRANSACTION_INVALID": (
        "critical",
        "The transaction can never be valid: {reason}. No node would accept it, and the amounts and fee shown "
        "cannot be trusted; do not sign it.",
        "このトランザクションは決して有効になりません（{reason_ja}）。どのノードも受け付けず、表示される金額と手数料は"
        "信頼できません。署名しないでください。",
    ),
    "NETWORK_MISMATCH": (
        "high",
        "The PSBT's own extended public keys are {stated} keys, but it is verified for {network}: the addresses shown "
        "here are not the ones the signing device will show. Find out which network this withdrawal is on.",
        "PSBT 自体の拡張公開鍵は {stated_ja} 用ですが、{network} として検証しています。ここに表示されるアドレスは署名"
        "デバイスが表示するものと異なります。この出金がどのネットワークのものか確認してください。",
    ),
    "INPUT_NOT_OURS": (
        "high",
        "Input {input} ({amount}) is not provably from our wallet: {reason}. A withdrawal spends only its own "
        "wallet's coins; find out why this one is here before signing.",
        "入力 {input}（{amount}）は自社ウォレットのものと証明できません（{reason_ja}）。出金は自ウォレットの資金のみを使います。"
        "署名の前にこの入力が含まれる理由を確認してください。",
    ),
    "INPUT_QUORUM": (
        "info",
        "Input {input}: {valid} valid signature(s) of the {required} its script requires.",
        "入力 {input}: スクリプトが要求する {required} 件のうち有効な署名は {valid} 件です。",
    ),
}

SEVERITIES = ("critical", "high", "medium", "low", "info")

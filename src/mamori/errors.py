"""The one error root, with stable codes and messages in English and Japanese.

Every error the product raises is a :class:`MamoriError` whose ``code`` is listed in :data:`ERROR_CATALOG`.
Codes are part of the interface (docs/codes.md): they never change meaning once released. Each edge (CLI,
HTTP) catches the root once and turns it into an exit code or an error body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# code -> (English template, Japanese template); templates use the error's details as str.format fields.
ERROR_CATALOG: Mapping[str, tuple[str, str]] = {
    "INPUT_UNREADABLE": (
        "Cannot read input {source}: {reason}",
        "入力 {source} を読み込めません: {reason}",
    ),
    "JSON_INVALID": (
        "Input is not valid JSON: {reason}",
        "入力が正しい JSON ではありません: {reason}",
    ),
    "RECORD_SHAPE_INVALID": (
        "The record has the wrong shape: {reason}",
        "レコードの形式が正しくありません: {reason}",
    ),
    "FIELD_MISSING": (
        "Required field '{field}' is missing",
        "必須フィールド '{field}' がありません",
    ),
    "FIELD_TYPE_INVALID": (
        "Field '{field}' must be {expected}",
        "フィールド '{field}' は {expected} でなければなりません",
    ),
    "HEX_INVALID": (
        "Field '{field}' is not valid hex: {reason}",
        "フィールド '{field}' が正しい16進数ではありません: {reason}",
    ),
    "ADDRESS_INVALID": (
        "Field '{field}' is not a 20-byte address: {reason}",
        "フィールド '{field}' が20バイトのアドレスではありません: {reason}",
    ),
    "ADDRESS_CHECKSUM_INVALID": (
        "Field '{field}' has mixed case that fails its EIP-55 checksum: a mistyped or altered address",
        "フィールド '{field}' の大文字小文字が EIP-55 チェックサムと一致しません（誤入力または改ざんの可能性）",
    ),
    "INTEGER_INVALID": (
        "Field '{field}' is not a valid integer: {reason}",
        "フィールド '{field}' が正しい整数ではありません: {reason}",
    ),
    "INTEGER_OUT_OF_RANGE": (
        "Field '{field}' is out of range for {bits}-bit unsigned integer",
        "フィールド '{field}' が {bits} ビット符号なし整数の範囲外です",
    ),
    "HASH_INVALID": (
        "Field '{field}' is not a 32-byte hash",
        "フィールド '{field}' が32バイトのハッシュではありません",
    ),
    "SAFE_VERSION_REQUIRED": (
        "The Safe version is needed to compute the hash: pass --safe-version or a --safes file.{hint}",
        "ハッシュの計算には Safe のバージョンが必要です: --safe-version または --safes ファイルを指定してください。{hint_ja}",
    ),
    "SAFE_VERSION_UNSUPPORTED": (
        "Safe version '{version}' is not supported (supported: {supported})",
        "Safe バージョン '{version}' には対応していません（対応: {supported}）",
    ),
    "SAFES_FILE_INVALID": (
        "The Safe context file is invalid: {reason}",
        "Safe コンテキストファイルが正しくありません: {reason_ja}",
    ),
    "SAFE_NOT_IN_FILE": (
        "Safe {safe} on chain {chain_id} is not in the Safe file: its version and owners are unknown",
        "チェーン {chain_id} の Safe {safe} は Safe ファイルに記載されていません。バージョンとオーナーが不明です",
    ),
    "CONTEXT_CONFLICT": (
        "Conflicting context: {reason}",
        "コンテキストが矛盾しています: {reason}",
    ),
    "CHAIN_ID_INVALID": (
        "Chain id must be a positive integer below 2**64, got {value}",
        "チェーン ID は 2**64 未満の正の整数でなければなりません（指定値: {value}）",
    ),
    "RLP_INVALID": (
        "RLP decoding failed: {reason}",
        "RLP のデコードに失敗しました: {reason}",
    ),
    "TX_TYPE_UNSUPPORTED": (
        "Transaction type 0x{tx_type:02x} is not supported (legacy, 0x01, 0x02 and 0x04 are)",
        "トランザクション種別 0x{tx_type:02x} には対応していません（legacy、0x01、0x02、0x04 に対応）",
    ),
    "TX_FIELDS_INVALID": (
        "Transaction fields are invalid: {reason}",
        "トランザクションのフィールドが正しくありません: {reason}",
    ),
    "SIGNATURE_ENCODING_INVALID": (
        "Signature cannot be decoded: {reason}",
        "署名をデコードできません: {reason}",
    ),
    "ABI_DECODE_FAILED": (
        "Call data does not decode as {function}: {reason}",
        "コールデータを {function} としてデコードできません: {reason}",
    ),
    "BATCH_LINE_INVALID": (
        "Batch line {line} is not usable: {reason}",
        "バッチの {line} 行目を処理できません: {reason}",
    ),
    "POLICY_INVALID": (
        "The policy is invalid ({count} problem(s)); first: {first}",
        "ポリシーが不正です（問題 {count} 件）。最初の問題: {first}",
    ),
    "REQUEST_INVALID": (
        "The withdrawal request is invalid: {reason}",
        "出金リクエストが不正です: {reason}",
    ),
    "ADDRESS_EMPTY": (
        "Field '{field}' is empty: there is no address to screen",
        "フィールド '{field}' が空です。照合するアドレスがありません",
    ),
    "LIST_EMPTY": (
        "List {list} holds no address ({files}); it is not used for screening",
        "リスト {list} にアドレスがありません（{files}）。照合には使用しません",
    ),
    "SCREENING_INDEX_INVALID": (
        "Screening index {source} cannot be used: {reason}; rebuild it from the lists",
        "照合インデックス {source} を使用できません: {reason}。リストから再作成してください",
    ),
    "SCREENING_LIST_REQUIRED": (
        "No list to screen against: give --ofac, --fbi, --list, --intel or --index",
        "照合するリストがありません: --ofac、--fbi、--list、--intel または --index を指定してください",
    ),
    "TAXII_QUERY_INVALID": (
        "Request parameter {parameter} cannot be used: {reason}",
        "リクエストパラメータ {parameter} は使用できません: {reason}",
    ),
    "FRAMEWORK_INVALID": (
        "The question bank {source} is invalid ({count} problem(s)); first: {first}",
        "質問集 {source} が不正です（問題 {count} 件）。最初の問題: {first}",
    ),
    "BIP32_KEY_INVALID": (
        "Extended public key {key} is not valid: {reason}",
        "拡張公開鍵 {key} が正しくありません: {reason}",
    ),
    "BIP32_PRIVATE_KEY_REFUSED": (
        "An extended private key ({prefix}) was given: mamori needs public keys only; give the extended public key",
        "拡張秘密鍵（{prefix}）が指定されました。mamori は公開鍵のみを扱います。拡張公開鍵を指定してください",
    ),
    "BIP32_HARDENED_FROM_XPUB": (
        "Hardened step {step} cannot be derived from an extended public key",
        "強化導出のステップ {step} は拡張公開鍵からは導出できません",
    ),
    "BIP32_DERIVATION_INVALID": (
        "Child key {index} cannot be derived: {reason}",
        "子鍵 {index} を導出できません: {reason}",
    ),
    "BIP32_PATH_INVALID": (
        "Derivation path {path!r} is not valid: {reason}",
        "導出パス {path!r} が正しくありません: {reason}",
    ),
    "BTC_ADDRESS_INVALID": (
        "{address!r} is not a valid Bitcoin address: {reason}",
        "{address!r} は正しいビットコインアドレスではありません: {reason}",
    ),
    "BTC_ADDRESS_NETWORK_MISMATCH": (
        "Address {address} is written for {found}, not for {expected}",
        "アドレス {address} は {found} 用の形式で、{expected} 用ではありません",
    ),
    "DESCRIPTOR_SYNTAX_INVALID": (
        "The output descriptor is not valid at character {position}: {reason}",
        "出力ディスクリプタの {position} 文字目が正しくありません: {reason}",
    ),
    "DESCRIPTOR_CHECKSUM_INVALID": (
        "The descriptor checksum #{given} is not valid: {reason}",
        "ディスクリプタのチェックサム #{given} が正しくありません: {reason}",
    ),
    "DESCRIPTOR_CHECKSUM_MISSING": (
        "The descriptor has no #checksum and one is required here",
        "ディスクリプタに #チェックサム がありません。ここではチェックサムが必要です",
    ),
    "DESCRIPTOR_KEY_INVALID": (
        "Key {ordinal} of the descriptor ({key}) is not valid: {reason}",
        "ディスクリプタの {ordinal} 番目の鍵（{key}）が正しくありません: {reason}",
    ),
    "DESCRIPTOR_PRIVATE_KEY_REFUSED": (
        "Key {ordinal} of the descriptor is a private key ({kind}): mamori accepts public descriptors only; "
        "export the descriptor without private keys",
        "ディスクリプタの {ordinal} 番目の鍵は秘密鍵（{kind}）です。mamori は公開鍵のみのディスクリプタを扱います。"
        "秘密鍵を含まない形で出力し直してください",
    ),
    "DESCRIPTOR_HARDENED_AFTER_XPUB": (
        "Key {ordinal} of the descriptor ({key}) has hardened step {step} after the extended public key: "
        "deriving it needs the private key",
        "ディスクリプタの {ordinal} 番目の鍵（{key}）は拡張公開鍵の後に強化導出のステップ {step} があります。"
        "導出には秘密鍵が必要です",
    ),
    "DESCRIPTOR_MULTIPATH_INVALID": (
        "A multipath step <…;…> of the descriptor is not valid: {reason}",
        "ディスクリプタのマルチパス指定 <…;…> が正しくありません: {reason}",
    ),
    "DESCRIPTOR_CONTEXT_INVALID": (
        "{function}() cannot be used {where}",
        "{function}() はこの位置（{where}）では使用できません",
    ),
    "DESCRIPTOR_ARGUMENT_INVALID": (
        "The argument of {function}() is not valid: {reason}",
        "{function}() の引数が正しくありません: {reason}",
    ),
    "DESCRIPTOR_UNSUPPORTED": (
        "{function}() descriptors are not supported: {reason}",
        "{function}() 形式のディスクリプタには対応していません: {reason}",
    ),
    "DESCRIPTOR_NETWORK_MISMATCH": (
        "The descriptor's keys or address are for {found}, not for {expected}",
        "ディスクリプタの鍵またはアドレスは {found} 用で、{expected} 用ではありません",
    ),
    "DESCRIPTOR_INDEX_INVALID": (
        "Index {index} on branch {branch} is outside the descriptor: {reason}",
        "ブランチ {branch} のインデックス {index} はディスクリプタの範囲外です: {reason}",
    ),
    "DESCRIPTOR_DERIVATION_INVALID": (
        "A claimed key derivation is malformed: {reason}",
        "示された鍵の導出情報の形式が正しくありません: {reason}",
    ),
    "DESCRIPTOR_WALLET_FILE_INVALID": (
        "Wallet file {source} is invalid: {reason}",
        "ウォレットファイル {source} が正しくありません: {reason}",
    ),
    "ANSWER_INVALID": (
        "The answer to {question} cannot be used: {given!r} (accepted: {accepted})",
        "{question} への回答 {given!r} は使用できません（使用できる値: {accepted}）",
    ),
    "TARGET_PROFILE_INVALID": (
        "The target profile is invalid at {at}: {reason}",
        "目標プロファイルの {at} が不正です: {reason}",
    ),
    "ASSESSMENT_EXISTS": (
        "{organisation} already has an assessment for {year}",
        "{organisation} の {year} 年度のアセスメントは既に存在します",
    ),
    "ASSESSMENT_LOCKED": (
        "Assessment {assessment} was signed off and locked at {locked_at}; it cannot change",
        "アセスメント {assessment} は {locked_at} に承認・確定済みのため変更できません",
    ),
    "ASSESSMENT_INCOMPLETE": (
        "Assessment {assessment} cannot be signed off: {count} question(s) unanswered (first: {first})",
        "アセスメント {assessment} を承認できません: 未回答の設問が {count} 件あります（最初: {first}）",
    ),
    "ASSESSMENT_REVIEWER_CONFLICT": (
        "{reviewer} answered questions of this assessment and cannot sign it off",
        "{reviewer} はこのアセスメントの設問に回答しているため、承認者になれません",
    ),
    "ASSESSMENT_NOT_LOCKED": (
        "Assessment {assessment} is not signed off yet",
        "アセスメント {assessment} はまだ承認されていません",
    ),
    "ASSESSMENT_TAMPERED": (
        "Assessment {assessment} changed after its sign-off: digest {found}, signed off {expected}",
        "アセスメント {assessment} は承認後に変更されています（ダイジェスト {found}、承認時 {expected}）",
    ),
    "ANSWER_MACHINE_OWNED": (
        "{question} is answered by the platform itself ({check}); a person cannot overwrite it",
        "{question} はプラットフォーム自身が回答します（{check}）。人が上書きすることはできません",
    ),
    "QUESTION_NOT_ASKED": (
        "{question} is not asked of this organisation: its profile answer to {profile} rules it out",
        "{question} はこの組織には適用されません（プロファイル設問 {profile} の回答により対象外）",
    ),
    "EVIDENCE_INVALID": (
        "The evidence cannot be stored: {reason}",
        "証跡を保存できません: {reason}",
    ),
    "SHEET_INVALID": (
        "The spreadsheet {source} cannot be imported ({count} problem(s)); first: {first}. Nothing was imported",
        "スプレッドシート {source} を取り込めません（問題 {count} 件）。最初の問題: {first}。何も取り込んでいません",
    ),
    "COLUMN_MAPPING_INVALID": (
        "The column mapping is invalid at {at}: {reason}",
        "列対応ファイルの {at} が不正です: {reason}",
    ),
    "BENCHMARK_SUBMISSION_INVALID": (
        "The benchmark submission cannot be used: {reason}",
        "ベンチマーク提出データを使用できません: {reason}",
    ),
    "BENCHMARK_RESULT_INVALID": (
        "The benchmark result {id} cannot be read: {reason}",
        "ベンチマーク結果 {id} を読み取れません: {reason}",
    ),
    "BENCHMARK_COLLECTION_UNSAFE": (
        "Collection {collection} is not safe for the benchmark: {reason}; nothing was published",
        "コレクション {collection} はベンチマークに安全に使用できません: {reason}。何も公開していません",
    ),
    # Bitcoin transactions and PSBTs (chains/bitcoin): {where} names the map and field, e.g. input[1].PARTIAL_SIG.
    "BTC_TX_TRUNCATED": (
        "The Bitcoin transaction ends early: {reason}",
        "Bitcoin トランザクションが途中で終わっています: {reason}",
    ),
    "BTC_TX_INVALID": (
        "The Bitcoin transaction is malformed: {reason}",
        "Bitcoin トランザクションの形式が正しくありません: {reason}",
    ),
    "BTC_TX_TRAILING_DATA": (
        "{count} byte(s) follow the end of the Bitcoin transaction",
        "Bitcoin トランザクションの末尾の後に {count} バイトの余分なデータがあります",
    ),
    "BTC_COMPACT_SIZE_NONCANONICAL": (
        "The compact size at byte {offset} is not minimally encoded ({reason})",
        "バイト位置 {offset} の compact size が最小の形式でエンコードされていません（{reason}）",
    ),
    "BTC_SIGHASH_INPUT_INVALID": (
        "The signature hash of input {index} cannot be computed: {reason}",
        "入力 {index} の署名ハッシュを計算できません: {reason}",
    ),
    "BTC_SIGHASH_TYPE_INVALID": (
        "Sighash type {sighash_type} is not defined for {kind} signatures",
        "sighash タイプ {sighash_type} は {kind} 署名では定義されていません",
    ),
    "PSBT_ENCODING_INVALID": (
        "The PSBT is neither base64, hex nor binary: {reason}",
        "PSBT が base64、16進数、バイナリのいずれでもありません: {reason}",
    ),
    "PSBT_MAGIC_INVALID": (
        "The data does not start with the PSBT magic bytes 70736274ff ('psbt' 0xff); it starts with {found}",
        "データが PSBT のマジックバイト 70736274ff（'psbt' 0xff）で始まっていません（先頭: {found}）",
    ),
    "PSBT_TRUNCATED": (
        "The PSBT ends early in {where}: {reason}",
        "PSBT が {where} の途中で終わっています: {reason}",
    ),
    "PSBT_KEY_DUPLICATE": (
        "The key {key} of {where} appears twice in the same map",
        "{where} のキー {key} が同じマップ内で重複しています",
    ),
    "PSBT_KEY_INVALID": (
        "The key of {where} is invalid: {reason}",
        "{where} のキーが不正です: {reason}",
    ),
    "PSBT_VALUE_INVALID": (
        "The value of {where} is invalid: {reason}",
        "{where} の値が不正です: {reason}",
    ),
    "PSBT_UNSIGNED_TX_INVALID": (
        "The PSBT's unsigned transaction is unusable: {reason}",
        "PSBT の未署名トランザクションを使用できません: {reason}",
    ),
    "PSBT_VERSION_UNSUPPORTED": (
        "PSBT version {version} is not supported (versions 0 and 2 are)",
        "PSBT バージョン {version} には対応していません（対応: バージョン 0 と 2）",
    ),
    "PSBT_FIELD_NOT_ALLOWED": (
        "{where} is not allowed in a version {version} PSBT",
        "{where} はバージョン {version} の PSBT では使用できません",
    ),
    "PSBT_FIELD_MISSING": (
        "{where} is required in a version {version} PSBT but is missing",
        "{where} はバージョン {version} の PSBT では必須ですが、ありません",
    ),
    "PSBT_COUNT_MISMATCH": (
        "The PSBT has {found} {kind} map(s) but its transaction has {expected} {kind}(s)",
        "PSBT の{kind_ja}マップは {found} 個ですが、トランザクションの{kind_ja}は {expected} 個です",
    ),
    "PSBT_TRAILING_DATA": (
        "{count} byte(s) follow the last map of the PSBT",
        "PSBT の最後のマップの後に {count} バイトの余分なデータがあります",
    ),
    "PSBT_LOCKTIME_CONFLICT": (
        "No lock time satisfies every input of the PSBT: {reason}",
        "PSBT のすべての入力を満たすロックタイムがありません: {reason}",
    ),
    "PSBT_INPUT_INDEX_INVALID": (
        "The PSBT has no input {index} (it has {count})",
        "PSBT に入力 {index} はありません（入力数: {count}）",
    ),
    "PSBT_INPUT_NOT_FINAL": (
        "Input {index} of the PSBT is not finalized: it has neither a final scriptSig nor a final witness",
        "PSBT の入力 {index} は確定していません（最終 scriptSig も最終ウィットネスもありません）",
    ),
    "TAXII_NOT_ACCEPTABLE": (
        "The hub answers in application/taxii+json;version=2.1 only, not {accept}",
        "ハブの応答は application/taxii+json;version=2.1 のみです（要求: {accept}）",
    ),
    "TAXII_MEDIA_TYPE_UNSUPPORTED": (
        "The request body must be application/taxii+json;version=2.1, not {media_type}",
        "リクエスト本文は application/taxii+json;version=2.1 でなければなりません（受信: {media_type}）",
    ),
    "TAXII_ENVELOPE_INVALID": (
        "The request body is not a TAXII envelope: {reason}",
        "リクエスト本文が TAXII エンベロープではありません: {reason}",
    ),
    "TAXII_AUTH_REQUIRED": (
        "Authentication is required: send 'Authorization: Bearer <member token>' or HTTP Basic credentials",
        "認証が必要です。'Authorization: Bearer <会員トークン>' または HTTP Basic 認証情報を送ってください",
    ),
    "TAXII_PERMISSION_DENIED": (
        "Organisation {organisation} may not {action} in collection {collection}",
        "組織 {organisation} はコレクション {collection} で「{action}」を行う権限がありません",
    ),
    "HUB_AUDIENCE_INVALID": (
        "Header {header} cannot be used: {reason}",
        "ヘッダー {header} は使用できません: {reason}",
    ),
    "HUB_ANONYMITY_BREACH": (
        "An anonymous submission cannot carry its submitter's own identity object {id}",
        "匿名投稿に投稿者自身の identity オブジェクト {id} を含めることはできません",
    ),
    "HUB_OPERATOR_MISSING": (
        "The hub has no operator organisation, whose identity anonymous submissions carry: run 'mamori hub init'",
        "匿名投稿に使うハブ運営組織が登録されていません。'mamori hub init' を実行してください",
    ),
    "TLP_MARKING_INVALID": (
        "Marking definition {id} cannot be used: {reason}",
        "マーキング定義 {id} は使用できません: {reason}",
    ),
    "AUDIT_ENTRY_INVALID": (
        "An audit log entry or leaf hash is malformed: {reason}",
        "監査ログのエントリまたはリーフハッシュの形式が正しくありません: {reason}",
    ),
    "AUDIT_RANGE_INVALID": (
        "The audit log has no such entry or tree size: {reason}",
        "監査ログに該当するエントリまたはツリーサイズがありません: {reason}",
    ),
    "AUDIT_STATE_INVALID": (
        "The stored audit log state is corrupt: {reason}; the log cannot be extended until it is rebuilt from its entries",
        "保存されている監査ログの状態が破損しています: {reason}。エントリから再構築するまでログに追記できません",
    ),
    "AUDIT_PROOF_INVALID": (
        "The {proof} proof does not verify ({reason}): the log cannot show that it holds what is claimed",
        "{proof_ja}証明を検証できません（{reason}）。ログが主張どおりの内容を保持していることを示せません",
    ),
    "AUDIT_TREE_HEAD_INVALID": (
        "The signed tree head is not valid: {reason}",
        "署名付きツリーヘッドが無効です: {reason}",
    ),
    "LIST_VERSION_OLDER": (
        "List {list}: version {new_version} from {source} would replace version {current_version}, but it is older,"
        " or it cannot be ordered against it as a date and was not named explicitly (--ofac, --fbi or --list);"
        " refusing to screen against a possibly older list",
        "リスト {list}: {source} の版 {new_version} で版 {current_version} を置き換えようとしましたが、古い版であるか、"
        "日付として比較できず --ofac、--fbi、--list で明示的に指定されていません。古い可能性のあるリストでは照合しません",
    ),
    "STIX_OBJECT_INVALID": (
        "The STIX object {id} cannot be used: {reason}",
        "STIX オブジェクト {id} は使用できません: {reason}",
    ),
    "STIX_LIST_MISMATCH": (
        "Indicator {id} belongs to list {found}, not {expected}: an update is compared only with the previous import of the same list",
        "インディケーター {id} はリスト {found} のもので、{expected} のものではありません。更新は同じリストの前回の取り込みとのみ比較します",
    ),
    "STIX_VERSION_NOT_LATER": (
        "Indicator {id} was last modified at {modified}: a new version at {now} would not be strictly later (STIX versions are ordered by 'modified', to the millisecond); check the clock and import again",
        "インディケーター {id} の最終更新は {modified} です。{now} の新しい版はそれより厳密に後ではありません（STIX の版は 'modified' のミリ秒単位で順序付けられます）。時計を確認して再度取り込んでください",
    ),
    "INTEL_SOURCE_UNKNOWN": (
        "Cannot import {source}: {reason}; give an OFAC SDN snapshot (its folder or one of its sanctioned_addresses_<ASSET> files), the FBI list (eth_addresses.txt or .csv) or a STIX 2.1 bundle (JSON)",
        "{source} を取り込めません: {reason}。OFAC SDN のスナップショット（フォルダまたは sanctioned_addresses_<ASSET> ファイル）、FBI のリスト（eth_addresses.txt または .csv）、STIX 2.1 バンドル（JSON）のいずれかを指定してください",
    ),
    # Problems of a submitted object as STIX 2.1 (intel/stix_validation.py): {path} is the property, {reason} the rule.
    "STIX_PROPERTY_MISSING": (
        "STIX object {id}: the required property '{path}' is missing ({reason})",
        "STIX オブジェクト {id}: 必須プロパティ '{path}' がありません（{reason}）",
    ),
    "STIX_PROPERTY_INVALID": (
        "STIX object {id}: property '{path}' is invalid: {reason}",
        "STIX オブジェクト {id}: プロパティ '{path}' が不正です: {reason}",
    ),
    "STIX_PROPERTY_NAME_INVALID": (
        "STIX object {id}: '{path}' cannot be a property name: {reason}",
        "STIX オブジェクト {id}: '{path}' はプロパティ名として使えません: {reason}",
    ),
    "STIX_SPEC_VERSION_INVALID": (
        "STIX object {id}: '{path}' is not STIX 2.1: {reason}",
        "STIX オブジェクト {id}: '{path}' が STIX 2.1 ではありません: {reason}",
    ),
    "STIX_ID_INVALID": (
        "STIX object {id}: its id is not an identifier of its type: {reason}",
        "STIX オブジェクト {id}: id がその型の識別子ではありません: {reason}",
    ),
    "STIX_REF_INVALID": (
        "STIX object {id}: the reference '{path}' is invalid: {reason}",
        "STIX オブジェクト {id}: 参照 '{path}' が不正です: {reason}",
    ),
    "STIX_TIMESTAMP_INVALID": (
        "STIX object {id}: '{path}' is not a valid STIX timestamp: {reason}",
        "STIX オブジェクト {id}: '{path}' が正しい STIX のタイムスタンプではありません: {reason}",
    ),
    "STIX_TIMESTAMP_ORDER": (
        "STIX object {id}: the times are out of order: {reason}",
        "STIX オブジェクト {id}: 時刻の順序が正しくありません: {reason}",
    ),
    "STIX_PATTERN_INVALID": (
        "STIX object {id}: the indicator's pattern is not a valid STIX pattern: {reason}",
        "STIX オブジェクト {id}: インディケーターのパターンが正しい STIX パターンではありません: {reason}",
    ),
    "STIX_EXTENSION_INVALID": (
        "STIX object {id}: the extension at '{path}' is invalid: {reason}",
        "STIX オブジェクト {id}: '{path}' の拡張が不正です: {reason}",
    ),
    "STIX_MARKING_INVALID": (
        "STIX object {id}: the marking at '{path}' is invalid: {reason}",
        "STIX オブジェクト {id}: '{path}' のマーキングが不正です: {reason}",
    ),
    "STIX_VALIDATOR_REJECTED": (
        "STIX object {id} is refused by stix2-validator: {reason}",
        "STIX オブジェクト {id} は stix2-validator により拒否されました: {reason}",
    ),
    "INTEL_REMOTE_UNREACHABLE": (
        "The TAXII server {url} cannot be reached: {reason}; nothing was stored",
        "TAXII サーバー {url} に接続できません: {reason}。何も保存していません",
    ),
    "INTEL_REMOTE_UNAUTHORISED": (
        "The TAXII server {url} refused the credentials (HTTP {status}): check the token or user and password, and the account's rights on the collection; nothing was stored",
        "TAXII サーバー {url} が認証情報を拒否しました（HTTP {status}）。トークンまたはユーザー名とパスワード、コレクションに対するアカウントの権限を確認してください。何も保存していません",
    ),
    "INTEL_REMOTE_RESPONSE_INVALID": (
        "The TAXII server {url} sent a response that cannot be used: {reason}; nothing of it was stored",
        "TAXII サーバー {url} の応答を使用できません: {reason}。その内容は何も保存していません",
    ),
    "INTEL_FEED_UNAVAILABLE": (
        "The intelligence feed of collection {collection} cannot be read: {reason}",
        "コレクション {collection} のインテリジェンスフィードを読み込めません: {reason}",
    ),
    "AUDIT_LOG_TAMPERED": (
        "Audit log entry {seq} fails verification: {reason}; the log has been tampered with",
        "監査ログのエントリ {seq} の検証に失敗しました: {reason}。ログが改ざんされています",
    ),
    "DATABASE_UNAVAILABLE": (
        "The database {url} cannot be used: {reason}",
        "データベース {url} を使用できません: {reason}",
    ),
    "APPROVAL_INVALID": (
        "The approval is invalid: {reason}",
        "承認が無効です: {reason}",
    ),
    "APPROVAL_SUBJECT_MISMATCH": (
        "The approval was given for another withdrawal (differs in: {fields}): it cannot be replayed onto this one",
        "この承認は別の出金に対するものです（相違: {fields}）。この出金には使えません",
    ),
    "APPROVAL_EXPIRED": (
        "The approval expired at {expires_at} (now {now})",
        "承認は {expires_at} に期限切れになりました（現在 {now}）",
    ),
    "ATTESTATION_INVALID": (
        "The release attestation is invalid: {reason}. Do not sign",
        "リリース証明が無効です: {reason}。署名しないでください",
    ),
    "ATTESTATION_EXPIRED": (
        "The release attestation expired at {expires_at} (now {now}). Do not sign",
        "リリース証明は {expires_at} に期限切れになりました（現在 {now}）。署名しないでください",
    ),
    "ATTESTATION_NOT_YET_VALID": (
        "The release attestation is not valid before {issued_at} (now {now}): check the clocks. Do not sign",
        "リリース証明は {issued_at} より前には有効ではありません（現在 {now}）。時計を確認してください。署名しないでください",
    ),
    "ATTESTATION_HASH_MISMATCH": (
        "The release attestation is for signing hash {attested}, not {expected}: it releases another transaction. Do not sign",
        "リリース証明の署名ハッシュは {attested} で、{expected} ではありません。別の取引の証明です。署名しないでください",
    ),
    "AUTH_REQUIRED": (
        "Authentication is required: send the header 'Authorization: Bearer <API key>'",
        "認証が必要です。'Authorization: Bearer <API キー>' ヘッダーを送ってください",
    ),
    "AUTH_INVALID": (
        "The API key is not valid (malformed, unknown or revoked)",
        "API キーが無効です（形式不正、未登録、または失効済み）",
    ),
    "PERMISSION_DENIED": (
        "The role {role} may not {action}",
        "ロール {role} には「{action}」の権限がありません",
    ),
    "NOT_FOUND": (
        "{what} '{id}' was not found",
        "{what} '{id}' は見つかりません",
    ),
    "ROUTE_NOT_FOUND": (
        "There is no endpoint {method} {path}",
        "エンドポイント {method} {path} は存在しません",
    ),
    "METHOD_NOT_ALLOWED": (
        "The endpoint {path} does not accept {method}",
        "エンドポイント {path} は {method} を受け付けません",
    ),
    "BODY_INVALID": (
        "The request body is invalid at {at}: {reason}",
        "リクエスト本文の {at} が不正です: {reason}",
    ),
    "BODY_TOO_LARGE": (
        "The request body is larger than {limit} bytes",
        "リクエスト本文が上限 {limit} バイトを超えています",
    ),
    "MEDIA_TYPE_UNSUPPORTED": (
        "The request body must be application/json, not {media_type}",
        "リクエスト本文は application/json でなければなりません（受信: {media_type}）",
    ),
    "REQUEST_NOT_AUTHENTIC": (
        "The withdrawal request is refused and logged: {reason} ({detail})",
        "出金リクエストを拒否し、記録しました: {reason}（{detail}）",
    ),
    "REQUEST_ID_REUSED": (
        "Request id '{request_id}' was already used for a different request",
        "リクエスト ID '{request_id}' は別のリクエストで使用済みです",
    ),
    "STATE_CONFLICT": (
        "{what} '{id}' is {status}: cannot {action}",
        "{what} '{id}' は {status} の状態のため、{action} できません",
    ),
    "APPROVER_KEY_UNKNOWN": (
        "{person} has no active approval key '{key_id}'",
        "{person} には有効な承認鍵 '{key_id}' がありません",
    ),
    "APPROVER_NOT_ELIGIBLE": (
        "{person} cannot approve this: {reason}",
        "{person} はこれを承認できません: {reason}",
    ),
    "CHANGE_INVALID": (
        "The proposed change is refused: {reason}",
        "変更の提案を受け付けられません: {reason}",
    ),
    "GUARD_NOT_INITIALISED": (
        "The guard database has no active policy: run 'mamori guard init' first",
        "ガードのデータベースに有効なポリシーがありません。先に 'mamori guard init' を実行してください",
    ),
    "GUARD_ALREADY_INITIALISED": (
        "The guard database already has a policy: 'mamori guard init' runs once; change the policy through the service",
        "ガードのデータベースには既にポリシーがあります。'mamori guard init' は一度だけ実行できます。変更はサービス経由で行ってください",
    ),
    "GUARD_KEY_INVALID": (
        "The guard key {path} cannot be used: {reason}",
        "ガード鍵 {path} を使用できません: {reason}",
    ),
    "SERVICE_UNAVAILABLE": (
        "The service cannot answer now ({reason}); nothing was changed, try again",
        "サービスは現在応答できません（{reason}）。何も変更されていません。再試行してください",
    ),
    "USAGE_INVALID": (
        "Invalid usage: {reason}",
        "使い方が正しくありません: {reason}",
    ),
    "INTERNAL_ERROR": (
        "Internal error while processing the input ({reason}); treated as a denial",
        "入力の処理中に内部エラーが発生しました（{reason}）。拒否として扱います",
    ),
}


class MamoriError(Exception):
    """Root of every error mamori raises; ``code`` is stable, the message is bilingual."""

    def __init__(self, code: str, **details: Any) -> None:
        if code not in ERROR_CATALOG:
            # A programming error: fail loudly rather than emit an undocumented code.
            raise KeyError(f"undocumented error code {code!r}")
        self.code = code
        self.details: dict[str, Any] = details
        en, ja = ERROR_CATALOG[code]
        self.message_en = _render(en, details)
        self.message_ja = _render(ja, details)
        super().__init__(f"{code}: {self.message_en}")

    def to_dict(self) -> dict[str, Any]:
        """The error object of the JSON interfaces."""
        return {
            "error": {
                "code": self.code,
                "message": {"en": self.message_en, "ja": self.message_ja},
                "details": {k: _plain(v) for k, v in self.details.items()},
            }
        }


class InputError(MamoriError):
    """The input cannot be read or parsed: the CLI exits 2 and prints nothing as if it were valid."""


class DecodeError(InputError):
    """Bytes that cannot be decoded under the format they claim."""


class ContextError(InputError):
    """Context needed for verification (Safe version, owners, chain) is missing or contradictory."""


def _render(template: str, details: Mapping[str, Any]) -> str:
    try:
        return template.format(**details)
    except (KeyError, IndexError, ValueError):
        return template


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)

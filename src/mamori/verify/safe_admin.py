"""The Safe's own administrative functions: who owns the wallet, how many must sign, its modules, guards,
fallback handler and implementation. A change is reported only when the wallet calls itself; the same call to
another contract is decoded but reverts there.
"""

from __future__ import annotations

from collections.abc import Mapping

from mamori.chains.evm.encoding import to_checksum_address
from mamori.verify import functions as fn
from mamori.verify.model import Arg, CallNode, Finding, finding


def safe_admin_call(
    spec: fn.FunctionSpec,
    to: bytes,
    value: int,
    data: bytes,
    args: tuple[Arg, ...],
    is_self_call: bool,
    path: str,
    findings: list[Finding],
    label: str | None,
) -> CallNode:
    values = {a.name: a.value for a in args}
    summary_en, summary_ja = _admin_summary(spec, values)
    if not is_self_call:
        # Safe admin functions only work when the Safe calls itself; elsewhere the call reverts.
        return CallNode(
            0,
            to,
            value,
            data,
            "safe_admin_foreign",
            spec.signature,
            args,
            to_label=label,
            summary_en=f"{summary_en} on another contract (not this wallet; it would revert)",
            summary_ja=f"{summary_ja}（このウォレット以外への呼び出しのため失敗します）",
        )
    if spec in (fn.ADD_OWNER, fn.REMOVE_OWNER, fn.SWAP_OWNER):
        findings.append(finding("OWNER_CHANGE", path, change=summary_en, change_ja=summary_ja))
    if "threshold" in values:
        findings.append(finding("THRESHOLD_CHANGE", path, threshold=values["threshold"]))
    if spec in (fn.ENABLE_MODULE, fn.DISABLE_MODULE):
        enabling = spec is fn.ENABLE_MODULE
        findings.append(
            finding(
                "MODULE_CHANGE",
                path,
                module=values["module"],
                action="Enables" if enabling else "Disables",
                action_ja="有効化" if enabling else "無効化",
            )
        )
    if spec is fn.SET_GUARD:
        findings.append(
            finding(
                "GUARD_CHANGE",
                path,
                guard=values["guard"],
                guard_kind="transaction",
                guard_kind_ja="トランザクション",
            )
        )
    if spec is fn.SET_MODULE_GUARD:
        findings.append(
            finding(
                "GUARD_CHANGE",
                path,
                guard=values["module_guard"],
                guard_kind="module",
                guard_kind_ja="モジュール",
            )
        )
    if spec is fn.SET_FALLBACK_HANDLER:
        findings.append(finding("FALLBACK_HANDLER_CHANGE", path, handler=values["handler"]))
    if spec is fn.CHANGE_MASTER_COPY:
        findings.append(finding("IMPLEMENTATION_CHANGE", path, target=values["master_copy"]))
    return CallNode(
        0,
        to,
        value,
        data,
        spec.kind,
        spec.signature,
        args,
        to_label=label,
        summary_en=summary_en,
        summary_ja=summary_ja,
    )


def _admin_summary(spec: fn.FunctionSpec, values: Mapping[str, object]) -> tuple[str, str]:
    def a(name: str) -> str:
        item = values[name]
        return to_checksum_address(item) if isinstance(item, bytes) else str(item)

    if spec is fn.ADD_OWNER:
        return (
            f"Add owner {a('owner')} and set threshold to {a('threshold')}",
            f"オーナー {a('owner')} を追加し、しきい値を {a('threshold')} に設定",
        )
    if spec is fn.REMOVE_OWNER:
        return (
            f"Remove owner {a('owner')} and set threshold to {a('threshold')}",
            f"オーナー {a('owner')} を削除し、しきい値を {a('threshold')} に設定",
        )
    if spec is fn.SWAP_OWNER:
        return (
            f"Replace owner {a('old_owner')} with {a('new_owner')}",
            f"オーナー {a('old_owner')} を {a('new_owner')} に交代",
        )
    if spec is fn.CHANGE_THRESHOLD:
        return (f"Set threshold to {a('threshold')}", f"しきい値を {a('threshold')} に変更")
    if spec is fn.ENABLE_MODULE:
        return (f"Enable module {a('module')}", f"モジュール {a('module')} を有効化")
    if spec is fn.DISABLE_MODULE:
        return (f"Disable module {a('module')}", f"モジュール {a('module')} を無効化")
    if spec is fn.SET_GUARD:
        return (f"Set transaction guard {a('guard')}", f"トランザクションガードを {a('guard')} に設定")
    if spec is fn.SET_MODULE_GUARD:
        return (f"Set module guard {a('module_guard')}", f"モジュールガードを {a('module_guard')} に設定")
    if spec is fn.SET_FALLBACK_HANDLER:
        return (f"Set fallback handler {a('handler')}", f"フォールバックハンドラを {a('handler')} に設定")
    return (
        f"Change implementation (master copy) to {a('master_copy')}",
        f"実装（マスターコピー）を {a('master_copy')} に変更",
    )

"""Decode a call (operation, target, value, data) into a tree of what it really does, collecting findings.

Shared by the Safe verifier (the SafeTx, multiSend batches, nested execTransaction) and the EVM transaction
verifier. ``wallet`` is the account whose authority the call uses: a call to ``wallet`` itself, made in the
wallet's own context, is a self-call that can change owners, modules, guards or the implementation.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from mamori.chains.evm.abi import decode_args
from mamori.chains.evm.encoding import ZERO_ADDRESS, to_checksum_address
from mamori.chains.evm.safe.multisend import decode_multisend
from mamori.errors import DecodeError
from mamori.verify import functions as fn
from mamori.verify.model import Arg, CallNode, Finding, finding, format_units
from mamori.verify.registry import ContractRegistry, KnownContract
from mamori.verify.safe_admin import safe_admin_call

MAX_DEPTH = 8
# Approvals at or above this are "effectively unlimited": 2**128 base units exceeds any real supply.
UNLIMITED_ALLOWANCE = (1 << 128) - 1


class CallContext(NamedTuple):
    wallet: bytes | None
    registry: ContractRegistry
    in_wallet_context: bool = True
    inside_call_only_batch: bool = False
    depth: int = 0


@lru_cache(maxsize=1024)
def root_context(wallet: bytes, registry: ContractRegistry) -> CallContext:
    """The context of a wallet's own top-level call (cached: an exchange runs few wallets)."""
    return CallContext(wallet=wallet, registry=registry)


def decode_call(
    operation: int, to: bytes, value: int, data: bytes, ctx: CallContext, path: str, findings: list[Finding]
) -> CallNode:
    if ctx.depth > MAX_DEPTH:
        findings.append(finding("CALLDATA_MALFORMED", path, function="multiSend", reason="batches nested too deep"))
        return CallNode(operation, to, value, data, "too_deep")
    known = ctx.registry.get(to)
    label = known.label if known else None
    if operation not in (0, 1):
        findings.append(
            finding(
                "INVALID_OPERATION",
                path,
                operation=operation,
                reason="mamori verifies CALL (0) and DELEGATECALL (1) only; early Safes used 2 for CREATE",
                reason_ja="mamori が検証できるのは CALL (0) と DELEGATECALL (1) のみ（初期の Safe では 2 が CREATE）",
            )
        )
        return CallNode(operation, to, value, data, "invalid_operation", to_label=label)
    if operation == 1:
        if ctx.inside_call_only_batch:
            findings.append(
                finding(
                    "INVALID_OPERATION",
                    path,
                    operation=1,
                    reason="MultiSendCallOnly reverts on DELEGATECALL",
                    reason_ja="MultiSendCallOnly は DELEGATECALL で失敗します",
                )
            )
        trusted = ctx.registry.trusted_delegate(to)
        if trusted is None:
            findings.append(finding("DELEGATECALL_UNTRUSTED", path, target=to))
            return _describe_untrusted_delegatecall(to, value, data, label)
        return _decode_library_call(trusted, value, data, ctx, path, findings)
    return _decode_plain_call(to, value, data, ctx, path, findings, known)


def _describe_untrusted_delegatecall(to: bytes, value: int, data: bytes, label: str | None) -> CallNode:
    spec = fn.ALL_FUNCTIONS.get(data[:4]) if len(data) >= 4 else None
    shown = spec.signature if spec else (("0x" + data[:4].hex()) if data else "(no data)")
    return CallNode(
        1,
        to,
        value,
        data,
        "delegatecall_untrusted",
        function=spec.signature if spec else None,
        to_label=label,
        summary_en=f"DELEGATECALL into {to_checksum_address(to)} running {shown} with the wallet's storage; "
        "a function name means nothing in foreign code",
        summary_ja=f"{to_checksum_address(to)} のコード（{shown}）をウォレットのストレージ上で DELEGATECALL 実行。"
        "外部コードでは関数名は何の保証にもなりません",
    )


def _decode_library_call(
    library: KnownContract, value: int, data: bytes, ctx: CallContext, path: str, findings: list[Finding]
) -> CallNode:
    spec = fn.LIBRARY_FUNCTIONS.get(data[:4]) if len(data) >= 4 else None
    expected_role_kind = {
        "multisend_call_only": "multisend",
        "multisend": "multisend",
        "sign_message_lib": "sign_message",
        "safe_migration": "safe_migration",
        "safe_to_l2_migration": "safe_migration",
    }[library.role]
    if spec is None or spec.kind != expected_role_kind:
        findings.append(finding("UNKNOWN_CALL", path, selector="0x" + data[:4].hex(), target=library.address))
        return CallNode(1, library.address, value, data, "unknown", to_label=library.label)
    args = _decode(spec, data, path, findings)
    if args is None:
        return CallNode(1, library.address, value, data, "malformed", function=spec.signature, to_label=library.label)
    if spec.kind == "multisend":
        return _decode_multisend(
            1,
            library,
            args,
            value,
            data,
            ctx,
            path,
            findings,
            call_only=library.role == "multisend_call_only",
        )
    if spec.kind == "sign_message":
        message = args[0].value
        assert isinstance(message, bytes)  # noqa: S101 - guaranteed by the spec's argument type
        findings.append(finding("MESSAGE_SIGNATURE", path, message="0x" + message.hex()))
        return CallNode(
            1,
            library.address,
            value,
            data,
            "sign_message",
            spec.signature,
            args,
            to_label=library.label,
            summary_en="Sign an off-chain message in the wallet's name",
            summary_ja="ウォレットの名義でオフチェーンメッセージに署名",
        )
    findings.append(finding("IMPLEMENTATION_CHANGE", path, target=library.address))
    if "FallbackHandler" in spec.name or spec is fn.MIGRATE_FROM_V111:
        findings.append(finding("FALLBACK_HANDLER_CHANGE", path, handler=library.address))
    return CallNode(
        1,
        library.address,
        value,
        data,
        "safe_migration",
        spec.signature,
        args,
        to_label=library.label,
        summary_en=f"Migrate the wallet's implementation with {library.label} ({spec.name})",
        summary_ja=f"{library.label}（{spec.name}）でウォレットの実装を移行",
    )


def _decode_plain_call(
    to: bytes,
    value: int,
    data: bytes,
    ctx: CallContext,
    path: str,
    findings: list[Finding],
    known: KnownContract | None,
) -> CallNode:
    label = known.label if known else None
    if not data:
        if value:
            return tuple.__new__(CallNode, (0, to, value, data, "native_transfer", None, (), (), label, "", ""))
        if ctx.wallet is not None and to == ctx.wallet and ctx.depth == 0:
            return CallNode(
                0,
                to,
                value,
                data,
                "rejection",
                to_label=label,
                summary_en="On-chain rejection (empty self-call)",
                summary_ja="オンチェーン拒否（空の自己呼び出し）",
            )
        return CallNode(
            0,
            to,
            value,
            data,
            "empty_call",
            to_label=label,
            summary_en="Empty call, nothing is sent",
            summary_ja="空の呼び出し（送金なし）",
        )
    spec = fn.CALL_FUNCTIONS.get(data[:4]) if len(data) >= 4 else None
    is_self = ctx.wallet is not None and to == ctx.wallet and ctx.in_wallet_context
    is_batch_contract = known is not None and known.role in ("multisend", "multisend_call_only")
    if (
        spec is None
        or (is_self and spec not in fn.SELF_CALLABLE)
        or (spec is fn.MULTI_SEND and not is_batch_contract)  # a batch is only what a known MultiSend runs
    ):
        selector = "0x" + data[:4].hex()
        if is_self:
            # Any other function of the wallet itself reaches its fallback handler or an admin entry point.
            findings.append(finding("SELF_CALL_UNKNOWN", path, selector=selector))
        else:
            findings.append(finding("UNKNOWN_CALL", path, selector=selector, target=to))
        if value:
            findings.append(finding("VALUE_WITH_CALL", path, amount=format_units(value, 18), value=value, target=to))
        return CallNode(0, to, value, data, "unknown", to_label=label)
    if value:
        findings.append(finding("VALUE_WITH_CALL", path, amount=format_units(value, 18), value=value, target=to))
    args = _decode(spec, data, path, findings)
    if args is None:
        return CallNode(0, to, value, data, "malformed", function=spec.signature, to_label=label)
    if spec.kind.startswith("erc20_"):
        return _erc20(spec, to, value, data, args, path, findings, label)
    if spec.kind == "multisend":
        call_only = known is not None and known.role == "multisend_call_only"
        return _decode_multisend(0, known, args, value, data, ctx, path, findings, call_only=call_only, to=to)
    if spec is fn.APPROVE_HASH:
        return _approve_hash(to, value, data, args, ctx, path, findings, label)
    if spec is fn.EXEC_TRANSACTION or spec.kind == "safe_module_transaction":
        return _exec_on_other_safe(spec, to, value, data, args, ctx, path, findings, label)
    return safe_admin_call(spec, to, value, data, args, is_self, path, findings, label)


def _decode(spec: fn.FunctionSpec, data: bytes, path: str, findings: list[Finding]) -> tuple[Arg, ...] | None:
    if spec.static_size and len(data) == 4 + spec.static_size and spec.address_and_uint_only:
        # Fast path for the most common shapes (ERC-20 calls): exact length, addresses and uint256 only.
        return _decode_address_uint_args(spec, data, path, findings)
    try:
        decoded = decode_args(spec.signature, spec.arg_types, data[4:])
    except DecodeError as exc:
        findings.append(finding("CALLDATA_MALFORMED", path, function=spec.signature, reason=exc.details.get("reason")))
        return None
    if not decoded.canonical:
        findings.append(finding("CALLDATA_NONCANONICAL", path, function=spec.signature))
    # decode_args returns exactly one value per type, so map() pairs them without a length check.
    return tuple(map(Arg, spec.arg_names, spec.arg_types, decoded.values))


def _decode_address_uint_args(
    spec: fn.FunctionSpec, data: bytes, path: str, findings: list[Finding]
) -> tuple[Arg, ...] | None:
    args = []
    make = tuple.__new__  # Arg's own __new__ is a Python-level wrapper around this; skip it on the hot path
    start = 4
    for name, kind in zip(spec.arg_names, spec.arg_types, strict=True):
        word = data[start : start + 32]
        start += 32
        if kind == "address":
            if any(word[:12]):
                reason = "address with dirty high bits"
                findings.append(finding("CALLDATA_MALFORMED", path, function=spec.signature, reason=reason))
                return None
            args.append(make(Arg, (name, kind, word[12:])))
        else:
            args.append(make(Arg, (name, kind, int.from_bytes(word, "big"))))
    return tuple(args)


def _erc20(
    spec: fn.FunctionSpec,
    token: bytes,
    value: int,
    data: bytes,
    args: tuple[Arg, ...],
    path: str,
    findings: list[Finding],
    label: str | None,
) -> CallNode:
    if spec is fn.ERC20_APPROVE or spec is fn.ERC20_INCREASE_ALLOWANCE:
        amount, spender = args[1].value, args[0].value
        if isinstance(amount, int) and amount >= UNLIMITED_ALLOWANCE:
            findings.append(finding("UNLIMITED_APPROVAL", path, spender=spender, token=token))
    # The words come later, from describe_call(), only when a report is printed.
    return tuple.__new__(CallNode, (0, token, value, data, spec.kind, spec.signature, args, (), label, "", ""))


def _decode_multisend(
    operation: int,
    known: KnownContract | None,
    args: tuple[Arg, ...],
    value: int,
    data: bytes,
    ctx: CallContext,
    path: str,
    findings: list[Finding],
    *,
    call_only: bool,
    to: bytes | None = None,
) -> CallNode:
    target = known.address if known else (to or b"")
    label = known.label if known else None
    packed = args[0].value
    assert isinstance(packed, bytes)  # noqa: S101
    try:
        entries = decode_multisend(packed)
    except DecodeError as exc:
        findings.append(finding("CALLDATA_MALFORMED", path, function="multiSend", reason=exc.details.get("reason")))
        return CallNode(operation, target, value, data, "malformed", fn.MULTI_SEND.signature, to_label=label)
    inner = CallContext(
        wallet=ctx.wallet,
        registry=ctx.registry,
        # Only a DELEGATECALLed batch runs its inner calls with the wallet as msg.sender.
        in_wallet_context=ctx.in_wallet_context and operation == 1,
        inside_call_only_batch=call_only,
        depth=ctx.depth + 1,
    )
    # From 1.5.0, MultiSend and MultiSendCallOnly send an entry addressed to 0x0 to the wallet itself.
    zero_is_self = (
        operation == 1 and known is not None and _version_tuple(known.version) >= (1, 5, 0) and ctx.wallet is not None
    )
    children = tuple(
        decode_call(
            e.operation,
            ctx.wallet if zero_is_self and e.to == ZERO_ADDRESS and ctx.wallet else e.to,
            e.value,
            e.data,
            inner,
            f"{path}.calls[{i}]",
            findings,
        )
        for i, e in enumerate(entries)
    )
    return CallNode(
        operation,
        target,
        value,
        data,
        "multisend",
        fn.MULTI_SEND.signature,
        (),
        children,
        label,
    )


def _approve_hash(
    to: bytes,
    value: int,
    data: bytes,
    args: tuple[Arg, ...],
    ctx: CallContext,
    path: str,
    findings: list[Finding],
    label: str | None,
) -> CallNode:
    approved = args[0].value
    assert isinstance(approved, bytes)  # noqa: S101
    # On another Safe this is a signature in all but name; on the wallet itself it is just as opaque.
    findings.append(finding("NESTED_SAFE_APPROVAL", path, hash=approved, target=to))
    en = f"Approve hash 0x{approved.hex()} as an owner of Safe {to_checksum_address(to)}"
    ja = f"Safe {to_checksum_address(to)} のオーナーとしてハッシュ 0x{approved.hex()} を承認"
    return CallNode(
        0,
        to,
        value,
        data,
        "safe_approve_hash",
        fn.APPROVE_HASH.signature,
        args,
        to_label=label,
        summary_en=en,
        summary_ja=ja,
    )


def _exec_on_other_safe(
    spec: fn.FunctionSpec,
    to: bytes,
    value: int,
    data: bytes,
    args: tuple[Arg, ...],
    ctx: CallContext,
    path: str,
    findings: list[Finding],
    label: str | None,
) -> CallNode:
    """execTransaction (as a relayer, or an owner whose call counts as approval) or execTransactionFromModule
    (as a module: no owner signs) on ``to``. What ``to`` does is its claim; the inner call is decoded as if
    ``to`` were a Safe, in its own context, and judged like any other call."""
    values = {a.name: a.value for a in args}
    inner_ctx = CallContext(wallet=to, registry=ctx.registry, depth=ctx.depth + 1)
    inner_to, inner_value, inner_data, inner_op = values["to"], values["value"], values["data"], values["operation"]
    assert isinstance(inner_to, bytes) and isinstance(inner_value, int)  # noqa: S101
    assert isinstance(inner_data, bytes) and isinstance(inner_op, int)  # noqa: S101
    if spec is fn.EXEC_TRANSACTION:
        findings.append(finding("NESTED_SAFE_EXECUTION", path, target=to))
        gas_price, gas_token, refund = values["gas_price"], values["gas_token"], values["refund_receiver"]
        base_gas = values["base_gas"]
        assert isinstance(gas_price, int) and isinstance(gas_token, bytes) and isinstance(refund, bytes)  # noqa: S101
        if gas_price:
            check_gas_refund(
                gas_price, base_gas if isinstance(base_gas, int) else 0, gas_token, refund, f"{path}.safe_tx", findings
            )
        kind = "safe_exec_transaction"
        en = f"Execute a Safe transaction on {to_checksum_address(to)} (if it is a Safe)"
        ja = f"{to_checksum_address(to)} で Safe トランザクションを実行（Safe である場合）"
    else:
        findings.append(finding("MODULE_TRANSACTION", path, target=to))
        kind = "safe_module_transaction"
        en = f"Execute a transaction on {to_checksum_address(to)} as its module, without its owners' signatures"
        ja = f"{to_checksum_address(to)} のモジュールとして、オーナーの署名なしでトランザクションを実行"
    child = decode_call(inner_op, inner_to, inner_value, inner_data, inner_ctx, f"{path}.safe_tx", findings)
    shown = tuple(a for a in args if a.name != "data")
    return CallNode(0, to, value, data, kind, spec.signature, shown, (child,), label, summary_en=en, summary_ja=ja)


def check_gas_refund(
    gas_price: int, base_gas: int, gas_token: bytes, refund_receiver: bytes, path: str, findings: list[Finding]
) -> None:
    """Safe pays a refund only when gasPrice > 0; either form takes funds out of the wallet on execution."""
    if not gas_price:
        return
    if any(gas_token) or any(refund_receiver):
        findings.append(
            finding("GAS_REFUND_TRAP", path, gas_price=gas_price, gas_token=gas_token, refund_receiver=refund_receiver)
        )
    else:
        findings.append(finding("GAS_REFUND", path, gas_price=gas_price, base_gas=base_gas))


def _version_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return (0,)

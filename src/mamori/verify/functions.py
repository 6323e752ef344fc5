"""The function selectors mamori decodes, derived from their signatures (never typed in by hand)."""

from __future__ import annotations

from dataclasses import dataclass

from mamori.chains.evm.crypto import keccak256


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    signature: str
    kind: str
    arg_names: tuple[str, ...]
    arg_types: tuple[str, ...]
    selector: bytes
    static_size: int  # bytes of arguments when every type is static, else 0
    address_and_uint_only: bool


def _spec(kind: str, signature: str, *arg_names: str) -> FunctionSpec:
    name, _, rest = signature.partition("(")
    arg_types = tuple(t for t in rest.rstrip(")").split(",") if t)
    if len(arg_types) != len(arg_names):
        raise AssertionError(f"argument names do not match {signature}")
    static = "bytes" not in arg_types
    return FunctionSpec(
        name,
        signature,
        kind,
        arg_names,
        arg_types,
        keccak256(signature.encode())[:4],
        32 * len(arg_types) if static else 0,
        bool(arg_types) and set(arg_types) <= {"address", "uint256"},
    )


ERC20_TRANSFER = _spec("erc20_transfer", "transfer(address,uint256)", "to", "amount")
ERC20_APPROVE = _spec("erc20_approve", "approve(address,uint256)", "spender", "amount")
ERC20_TRANSFER_FROM = _spec("erc20_transfer_from", "transferFrom(address,address,uint256)", "from", "to", "amount")
ERC20_INCREASE_ALLOWANCE = _spec("erc20_increase_allowance", "increaseAllowance(address,uint256)", "spender", "amount")

ADD_OWNER = _spec("safe_add_owner", "addOwnerWithThreshold(address,uint256)", "owner", "threshold")
REMOVE_OWNER = _spec("safe_remove_owner", "removeOwner(address,address,uint256)", "prev_owner", "owner", "threshold")
SWAP_OWNER = _spec("safe_swap_owner", "swapOwner(address,address,address)", "prev_owner", "old_owner", "new_owner")
CHANGE_THRESHOLD = _spec("safe_change_threshold", "changeThreshold(uint256)", "threshold")
ENABLE_MODULE = _spec("safe_enable_module", "enableModule(address)", "module")
DISABLE_MODULE = _spec("safe_disable_module", "disableModule(address,address)", "prev_module", "module")
SET_GUARD = _spec("safe_set_guard", "setGuard(address)", "guard")
SET_MODULE_GUARD = _spec("safe_set_module_guard", "setModuleGuard(address)", "module_guard")
SET_FALLBACK_HANDLER = _spec("safe_set_fallback_handler", "setFallbackHandler(address)", "handler")
CHANGE_MASTER_COPY = _spec("safe_change_master_copy", "changeMasterCopy(address)", "master_copy")
APPROVE_HASH = _spec("safe_approve_hash", "approveHash(bytes32)", "hash")
EXEC_TRANSACTION = _spec(
    "safe_exec_transaction",
    "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)",
    "to",
    "value",
    "data",
    "operation",
    "safe_tx_gas",
    "base_gas",
    "gas_price",
    "gas_token",
    "refund_receiver",
    "signatures",
)
EXEC_FROM_MODULE = _spec(
    "safe_module_transaction",
    "execTransactionFromModule(address,uint256,bytes,uint8)",
    "to",
    "value",
    "data",
    "operation",
)
EXEC_FROM_MODULE_RETURN_DATA = _spec(
    "safe_module_transaction",
    "execTransactionFromModuleReturnData(address,uint256,bytes,uint8)",
    "to",
    "value",
    "data",
    "operation",
)

MULTI_SEND = _spec("multisend", "multiSend(bytes)", "transactions")
SIGN_MESSAGE = _spec("sign_message", "signMessage(bytes)", "message")
MIGRATE_SINGLETON = _spec("safe_migration", "migrateSingleton()")
MIGRATE_WITH_FALLBACK_HANDLER = _spec("safe_migration", "migrateWithFallbackHandler()")
MIGRATE_L2_SINGLETON = _spec("safe_migration", "migrateL2Singleton()")
MIGRATE_L2_WITH_FALLBACK_HANDLER = _spec("safe_migration", "migrateL2WithFallbackHandler()")
MIGRATE_TO_L2 = _spec("safe_migration", "migrateToL2(address)", "l2_singleton")
MIGRATE_FROM_V111 = _spec("safe_migration", "migrateFromV111(address,address)", "l2_singleton", "fallback_handler")

SAFE_ADMIN = (
    ADD_OWNER,
    REMOVE_OWNER,
    SWAP_OWNER,
    CHANGE_THRESHOLD,
    ENABLE_MODULE,
    DISABLE_MODULE,
    SET_GUARD,
    SET_MODULE_GUARD,
    SET_FALLBACK_HANDLER,
    CHANGE_MASTER_COPY,
)
ERC20 = (ERC20_TRANSFER, ERC20_APPROVE, ERC20_TRANSFER_FROM, ERC20_INCREASE_ALLOWANCE)
MIGRATIONS = (
    MIGRATE_SINGLETON,
    MIGRATE_WITH_FALLBACK_HANDLER,
    MIGRATE_L2_SINGLETON,
    MIGRATE_L2_WITH_FALLBACK_HANDLER,
    MIGRATE_TO_L2,
    MIGRATE_FROM_V111,
)

# Functions decoded on any plain CALL; library functions (multiSend, signMessage, migrations) are looked up
# by the role of the DELEGATECALL target instead, because their meaning depends on running in the wallet.
CALL_FUNCTIONS: dict[bytes, FunctionSpec] = {
    spec.selector: spec
    for spec in (
        *ERC20,
        *SAFE_ADMIN,
        APPROVE_HASH,
        EXEC_TRANSACTION,
        EXEC_FROM_MODULE,
        EXEC_FROM_MODULE_RETURN_DATA,
        MULTI_SEND,
    )
}
# What a Safe may sensibly call on itself; any other self-call reaches its fallback handler.
SELF_CALLABLE = frozenset((*SAFE_ADMIN, APPROVE_HASH))
LIBRARY_FUNCTIONS: dict[bytes, FunctionSpec] = {spec.selector: spec for spec in (MULTI_SEND, SIGN_MESSAGE, *MIGRATIONS)}
ALL_FUNCTIONS: dict[bytes, FunctionSpec] = {**CALL_FUNCTIONS, **LIBRARY_FUNCTIONS}

"""Parse a Safe Transaction Service multisig-transaction record (the JSON its API returns) into frozen values.

Accepts the API's camelCase names and the snake_case names of our own options and batch files. Unknown fields
are ignored (the service adds fields over time); every field mamori relies on is validated strictly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from mamori.chains.evm.encoding import parse_address, parse_hash32, parse_hex, parse_uint
from mamori.chains.evm.safe.model import SafeTx
from mamori.errors import InputError

_ALIASES = {
    "safe_tx_gas": "safeTxGas",
    "base_gas": "baseGas",
    "data_gas": "dataGas",
    "gas_price": "gasPrice",
    "gas_token": "gasToken",
    "refund_receiver": "refundReceiver",
    "safe_tx_hash": "safeTxHash",
    "confirmations_required": "confirmationsRequired",
    "signature_type": "signatureType",
}


class Confirmation(NamedTuple):
    owner: bytes
    signature: bytes
    signature_type: str | None


class SafeTxRecord(NamedTuple):
    tx: SafeTx
    claimed_safe_tx_hash: bytes | None
    signatures: bytes
    confirmations: tuple[Confirmation, ...]
    confirmations_required: int | None


_SNAKE_OF = {camel: snake for snake, camel in _ALIASES.items()}


def _get(record: Mapping[str, Any], name: str) -> Any:
    value = record.get(name)
    if value is None and name in _SNAKE_OF:
        return record.get(_SNAKE_OF[name])
    return value


def parse_safe_tx_record(record: object) -> SafeTxRecord:
    if not isinstance(record, Mapping):
        raise InputError("RECORD_SHAPE_INVALID", reason="a Safe transaction record must be a JSON object")
    base_gas_raw = _get(record, "baseGas")
    if base_gas_raw is None:
        base_gas_raw = _get(record, "dataGas")  # Safe < 1.0.0 services name it dataGas
    operation = parse_uint(_get(record, "operation"), field="operation", bits=8)
    tx = SafeTx(
        safe=parse_address(_get(record, "safe"), field="safe"),
        to=parse_address(_get(record, "to"), field="to"),
        value=parse_uint(_get(record, "value"), field="value"),
        data=parse_hex(_get(record, "data"), field="data", allow_none=True),
        operation=operation,
        safe_tx_gas=parse_uint(_get(record, "safeTxGas"), field="safeTxGas"),
        base_gas=parse_uint(base_gas_raw, field="baseGas"),
        gas_price=parse_uint(_get(record, "gasPrice"), field="gasPrice"),
        gas_token=parse_address(_get(record, "gasToken"), field="gasToken", allow_none=True),
        refund_receiver=parse_address(_get(record, "refundReceiver"), field="refundReceiver", allow_none=True),
        nonce=parse_uint(_get(record, "nonce"), field="nonce"),
    )
    claimed = _get(record, "safeTxHash")
    required = _get(record, "confirmationsRequired")
    return SafeTxRecord(
        tx=tx,
        claimed_safe_tx_hash=parse_hash32(claimed, field="safeTxHash") if claimed is not None else None,
        signatures=parse_hex(_get(record, "signatures"), field="signatures", allow_none=True),
        confirmations=_parse_confirmations(_get(record, "confirmations")),
        confirmations_required=(
            parse_uint(required, field="confirmationsRequired", bits=32) if required is not None else None
        ),
    )


def _parse_confirmations(value: object) -> tuple[Confirmation, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InputError("FIELD_TYPE_INVALID", field="confirmations", expected="a list")
    parsed: list[Confirmation] = []
    for index, item in enumerate(value):
        field = f"confirmations[{index}]"
        if not isinstance(item, Mapping):
            raise InputError("FIELD_TYPE_INVALID", field=field, expected="an object")
        kind = _get(item, "signatureType")
        if kind is not None and not isinstance(kind, str):
            raise InputError("FIELD_TYPE_INVALID", field=f"{field}.signatureType", expected="a string")
        parsed.append(
            Confirmation(
                owner=parse_address(_get(item, "owner"), field=f"{field}.owner"),
                signature=parse_hex(_get(item, "signature"), field=f"{field}.signature", allow_none=True),
                signature_type=kind,
            )
        )
    return tuple(parsed)


def records_in_document(document: object) -> tuple[list[object], bool]:
    """The records of a single-object or list (``results``) response, and whether it was a list."""
    if isinstance(document, Mapping) and isinstance(document.get("results"), list):
        return list(document["results"]), True
    if isinstance(document, list):
        return list(document), True
    return [document], False

"""The packed transaction list of ``multiSend(bytes)`` (MultiSend and MultiSendCallOnly).

Each entry is ``operation (1 byte) ‖ to (20) ‖ value (32) ‖ dataLength (32) ‖ data``, concatenated without
padding. A truncated entry is an error: the contract would read past the list.
"""

from __future__ import annotations

from typing import NamedTuple

from mamori.errors import DecodeError

_HEADER = 1 + 20 + 32 + 32


class MultiSendEntry(NamedTuple):
    operation: int
    to: bytes
    value: int
    data: bytes


def decode_multisend(transactions: bytes) -> tuple[MultiSendEntry, ...]:
    entries: list[MultiSendEntry] = []
    position = 0
    end = len(transactions)
    while position < end:
        if position + _HEADER > end:
            raise DecodeError("ABI_DECODE_FAILED", function="multiSend", reason=f"entry {len(entries)} is truncated")
        operation = transactions[position]
        to = transactions[position + 1 : position + 21]
        value = int.from_bytes(transactions[position + 21 : position + 53], "big")
        length = int.from_bytes(transactions[position + 53 : position + 85], "big")
        data_start = position + _HEADER
        if length > end - data_start:
            raise DecodeError(
                "ABI_DECODE_FAILED",
                function="multiSend",
                reason=f"entry {len(entries)} data runs past the list",
            )
        entries.append(MultiSendEntry(operation, to, value, transactions[data_start : data_start + length]))
        position = data_start + length
    return tuple(entries)


def encode_multisend(entries: tuple[MultiSendEntry, ...] | list[MultiSendEntry]) -> bytes:
    """The inverse, used by tests and demos to build batches."""
    return b"".join(
        bytes((e.operation,)) + e.to + e.value.to_bytes(32, "big") + len(e.data).to_bytes(32, "big") + e.data
        for e in entries
    )

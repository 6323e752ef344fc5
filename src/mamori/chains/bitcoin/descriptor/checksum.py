"""The BIP-380 descriptor checksum: eight characters after ``#`` that catch a mistyped or altered descriptor."""

from __future__ import annotations

from collections.abc import Iterable

from mamori.errors import InputError

_INPUT_CHARSET = "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ "
_INPUT_VALUES = {c: i for i, c in enumerate(_INPUT_CHARSET)}
CHECKSUM_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A, 0x644D626FFD)


def _polymod(symbols: Iterable[int]) -> int:
    chk = 1
    for value in symbols:
        top = chk >> 35
        chk = (chk & 0x7FFFFFFFF) << 5 ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GENERATOR[i]
    return chk


def _expand(text: str) -> list[int]:
    symbols: list[int] = []
    groups: list[int] = []
    for position, char in enumerate(text):
        value = _INPUT_VALUES.get(char)
        if value is None:
            raise InputError(
                "DESCRIPTOR_SYNTAX_INVALID",
                position=position + 1,
                reason=f"character {char!r} is outside the descriptor character set",
            )
        symbols.append(value & 31)
        groups.append(value >> 5)
        if len(groups) == 3:
            symbols.append(groups[0] * 9 + groups[1] * 3 + groups[2])
            groups = []
    if len(groups) == 1:
        symbols.append(groups[0])
    elif len(groups) == 2:
        symbols.append(groups[0] * 3 + groups[1])
    return symbols


def descriptor_checksum(text: str) -> str:
    """The 8-character BIP-380 checksum of ``text`` (a descriptor without ``#``)."""
    checksum = _polymod([*_expand(text), 0, 0, 0, 0, 0, 0, 0, 0]) ^ 1
    return "".join(CHECKSUM_CHARSET[(checksum >> (5 * (7 - i))) & 31] for i in range(8))


def add_checksum(text: str) -> str:
    """``text#checksum``."""
    return f"{text}#{descriptor_checksum(text)}"

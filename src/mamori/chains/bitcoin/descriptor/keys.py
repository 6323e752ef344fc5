"""Key expressions of a descriptor: :class:`DescriptorKey` (origin, extended key, steps, wildcard), the keys it
derives, and the reading of a key expression's text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from coincurve import PublicKey

from mamori.chains.bitcoin.address import base58check_decode
from mamori.chains.bitcoin.bip32 import (
    HARDENED,
    ExtendedPublicKey,
    ckd_pub,
    fingerprint,
    format_step,
    is_private_key_prefix,
    is_public_key_prefix,
    parse_extended_key,
    parse_path_step,
)
from mamori.errors import InputError

MAX_INDEX = HARDENED - 1
HEX = re.compile(r"[0-9a-fA-F]*")
_FINGERPRINT = re.compile(r"[0-9a-fA-F]{8}")


@dataclass(frozen=True, slots=True)
class DescriptorKey:
    """One key expression: where it comes from (origin) and how children are derived below it.

    The public key at (branch, index) is ``xpub / path / multipath[branch] / tail / index`` (the last step only when
    ``wildcard``); the full path from the origin fingerprint is ``origin_path`` followed by those steps.
    """

    text: str
    origin_fingerprint: bytes | None  # as written in [fingerprint/path]
    origin_path: tuple[int, ...]
    xpub: ExtendedPublicKey | None
    public_key: bytes | None  # a fixed key as written: 33 or 65 bytes, or 32 (x-only, in tr())
    path: tuple[int, ...] = ()  # non-hardened steps after the xpub, before the multipath step
    multipath: tuple[int, ...] = ()  # BIP-389 alternatives; () when the key has no <…;…> step
    tail: tuple[int, ...] = ()  # steps after the multipath step
    wildcard: bool = False
    xonly: bool = False  # inside tr(): serialized as a 32-byte x-only key

    @property
    def fingerprint(self) -> bytes:
        """The fingerprint derivations name this key by: the origin's, else the key's own."""
        if self.origin_fingerprint is not None:
            return self.origin_fingerprint
        if self.xpub is not None:
            return self.xpub.fingerprint
        return fingerprint(self._compressed(self.public_key or b""))

    @property
    def derivation_suffix(self) -> str:
        """The steps after the key as written, e.g. ``/<0;1>/*``."""
        parts = [format_step(step, "h") for step in self.path]
        if self.multipath:
            parts.append("<" + ";".join(str(v) for v in self.multipath) + ">")
        parts += [format_step(step, "h") for step in self.tail]
        if self.wildcard:
            parts.append("*")
        return "".join("/" + part for part in parts)

    def steps(self, branch: int) -> tuple[int, ...]:
        """The steps from the xpub to the parent of the wildcard child on ``branch``."""
        chosen = (self.multipath[branch],) if self.multipath else ()
        return self.path + chosen + self.tail

    def full_path(self, branch: int, index: int) -> tuple[int, ...]:
        """The path a PSBT names for this key at (branch, index): origin path and every step below the xpub."""
        below = (*self.steps(branch), index) if self.wildcard else self.steps(branch)
        return self.origin_path + below if self.xpub is not None else self.origin_path

    def pubkey_at(self, branch: int, index: int) -> bytes:
        """The key at (branch, index) as it appears in scripts (x-only inside tr())."""
        if self.xpub is None:
            key = self.public_key or b""
        else:
            key, chain_code = _branch_node(self.xpub.public_key, self.xpub.chain_code, self.steps(branch))
            if self.wildcard:
                key, _ = ckd_pub(key, chain_code, index)
        if self.xonly and len(key) == 33:
            return key[1:]
        return key

    def claims(self, claimed_fingerprint: bytes, path: tuple[int, ...]) -> list[tuple[int, int]]:
        """The (branch, index) positions at which (fingerprint, path) names this key; [] when it names none."""
        prefixes: list[tuple[int, ...]] = []
        if self.origin_fingerprint == claimed_fingerprint:
            prefixes.append(self.origin_path)
        if self.xpub is not None and self.xpub.fingerprint == claimed_fingerprint:
            prefixes.append(())
        if self.origin_fingerprint is None and self.xpub is None and self.fingerprint == claimed_fingerprint:
            prefixes.append(())
        found: list[tuple[int, int]] = []
        for prefix in prefixes:
            if path[: len(prefix)] != prefix:
                continue
            rest = path[len(prefix) :]
            if self.xpub is None:
                if not rest:
                    found.append((0, 0))
                continue
            found += self._positions(rest)
        return found

    def _positions(self, rest: tuple[int, ...]) -> list[tuple[int, int]]:
        size = len(self.path) + (1 if self.multipath else 0) + len(self.tail) + (1 if self.wildcard else 0)
        if len(rest) != size or rest[: len(self.path)] != self.path:
            return []
        position = len(self.path)
        branches = [0]
        if self.multipath:
            branches = [b for b, value in enumerate(self.multipath) if value == rest[position]]
            position += 1
        if rest[position : position + len(self.tail)] != self.tail:
            return []
        index = rest[-1] if self.wildcard else 0
        if index > MAX_INDEX:
            return []
        return [(branch, index) for branch in branches]

    @staticmethod
    def _compressed(key: bytes) -> bytes:
        return b"\x02" + key if len(key) == 32 else key


@lru_cache(maxsize=4096)
def _branch_node(public_key: bytes, chain_code: bytes, steps: tuple[int, ...]) -> tuple[bytes, bytes]:
    for step in steps:
        public_key, chain_code = ckd_pub(public_key, chain_code, step)
    return public_key, chain_code


# --- reading a key expression ----------------------------------------------------------------------------------


def _key_error(code: str, text: str, ordinal: int, **details: Any) -> InputError:
    return InputError(code, key=_shown_key(text), ordinal=ordinal, **details)


def _shown_key(text: str) -> str:
    """What an error may show of a key expression: all of a public key, only 4 characters of anything else."""
    body = text.rpartition("]")[2]
    origin = text[: len(text) - len(body)]
    key = body.partition("/")[0]
    sec1 = len(key) in (66, 130) and key[:2] in ("02", "03", "04") and HEX.fullmatch(key) is not None
    public = is_public_key_prefix(body) or sec1  # 64 hex digits may be a raw private key: not shown
    shown = text if public else origin + body[:4] + "…"
    return shown if len(shown) <= 200 else shown[:200] + "…"


def parse_key(text: str, *, segwit: bool, xonly: bool, ordinal: int) -> DescriptorKey:
    origin_fingerprint: bytes | None = None
    origin_path: tuple[int, ...] = ()
    rest = text
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="key origin without ']'")
        origin = text[1:close].split("/")
        if not _FINGERPRINT.fullmatch(origin[0]):
            raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="fingerprint is not 8 hex digits")
        origin_fingerprint = bytes.fromhex(origin[0])
        if any("<" in step for step in origin[1:]):
            raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="a multipath step inside a key origin")
        origin_path = tuple(_step(step, text, ordinal) for step in origin[1:])
        rest = text[close + 1 :]
    if "[" in rest or "]" in rest:
        raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="misplaced '[' or ']' (one origin, first)")
    body, *parts = rest.split("/")
    if not body:
        raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="no key after the origin")
    if len(body) in (64, 66, 130) and HEX.fullmatch(body):
        if parts:
            raise _key_error(
                "DESCRIPTOR_KEY_INVALID", text, ordinal, reason="derivation steps after a non-extended key"
            )
        return DescriptorKey(
            text, origin_fingerprint, origin_path, None, _fixed_key(body, text, ordinal, segwit, xonly), xonly=xonly
        )
    path, multipath, tail, wildcard = _derivation(parts, text, ordinal)
    if is_private_key_prefix(body) or _is_wif(body):
        kind = "WIF private key" if _is_wif(body) else "extended private key"
        raise InputError("DESCRIPTOR_PRIVATE_KEY_REFUSED", kind=kind, ordinal=ordinal)
    try:
        xpub = parse_extended_key(body)
    except InputError as exc:
        if exc.code == "BIP32_PRIVATE_KEY_REFUSED":
            raise InputError("DESCRIPTOR_PRIVATE_KEY_REFUSED", kind="extended private key", ordinal=ordinal) from None
        raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason=exc.details.get("reason", "")) from None
    hardened = [step for step in (*path, *multipath, *tail) if step >= HARDENED]
    if hardened or wildcard == "hardened":
        step = format_step(hardened[0]) if hardened else "*'"
        raise _key_error("DESCRIPTOR_HARDENED_AFTER_XPUB", text, ordinal, step=step)
    return DescriptorKey(
        text, origin_fingerprint, origin_path, xpub, None, path, multipath, tail, wildcard == "yes", xonly
    )


def _step(step: str, text: str, ordinal: int) -> int:
    try:
        return parse_path_step(step)
    except InputError as exc:
        raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason=exc.details["reason"]) from None


def _derivation(
    parts: list[str], text: str, ordinal: int
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], str]:
    path: list[int] = []
    multipath: tuple[int, ...] = ()
    tail: list[int] = []
    wildcard = "no"
    for number, part in enumerate(parts):
        if part in ("*", "*'", "*h"):
            if number != len(parts) - 1:
                raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="'*' is not the last step")
            wildcard = "yes" if part == "*" else "hardened"
        elif part.startswith("<") or part.endswith(">") or ";" in part:
            if multipath:
                raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="more than one multipath step in a key")
            if not (part.startswith("<") and part.endswith(">")):
                raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="a multipath step is written <NUM;NUM…>")
            values = part[1:-1].split(";")
            if any(not value for value in values):
                raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="an empty value in a multipath step")
            if len(values) < 2:
                raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="a multipath step needs two values or more")
            multipath = tuple(_step(value, text, ordinal) for value in values)
            if len(set(multipath)) != len(multipath):
                raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="duplicate values in a multipath step")
        else:
            (tail if multipath else path).append(_step(part, text, ordinal))
    return tuple(path), multipath, tuple(tail), wildcard


def _is_wif(body: str) -> bool:
    raw = base58check_decode(body) if 50 <= len(body) <= 52 else None
    return raw is not None and raw[0] in (0x80, 0xEF) and (len(raw) == 33 or (len(raw) == 34 and raw[-1] == 1))


def _fixed_key(body: str, text: str, ordinal: int, segwit: bool, xonly: bool) -> bytes:
    data = bytes.fromhex(body)
    if len(data) == 32:
        if not xonly:
            raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="x-only keys are allowed in tr() only")
        data_to_check = b"\x02" + data
    else:
        if data[0] not in ((2, 3) if len(data) == 33 else (4,)):
            raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason=f"key prefix 0x{data[0]:02x}")
        if len(data) == 65 and segwit:
            raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="uncompressed key in a segwit script")
        data_to_check = data
    try:
        PublicKey(data_to_check)
    except Exception:  # noqa: BLE001 - coincurve raises ValueError or its own errors
        raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="not a point on secp256k1") from None
    return data

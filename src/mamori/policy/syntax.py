"""The textual layer of policy files: a stricter YAML loader, the schema validator, durations, weak keys.

Kept apart from the loader (parse.py), which turns a schema-valid document into a Policy.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators

_DURATION = re.compile(r"(\d+)([dhms])")
_ISO_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


MAX_POLICY_BYTES = 4 * 1024 * 1024


class StrictLoader(yaml.SafeLoader):
    """YAML without aliases (an alias bomb of a few KB expands to gigabytes) and without duplicate keys (a second
    `wallets:` block at the end of a file would silently win)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]  # PyYAML stubs leave it untyped
            raise yaml.constructor.ConstructorError(None, None, "aliases are not allowed in a policy", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# Ed25519 points of small order (by y, sign bit ignored): with such a "public key" forged signatures verify.
_SMALL_ORDER_Y = frozenset(
    bytes.fromhex(text)
    for text in (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    )
)


def weak_ed25519_key(raw: bytes) -> bool:
    return raw[:31] + bytes((raw[31] & 0x7F,)) in _SMALL_ORDER_Y


def _is_integer(_checker: object, instance: object) -> bool:
    # JSON Schema counts 18.0 as an integer; a policy never means a float where it says a count or decimals.
    return isinstance(instance, int) and not isinstance(instance, bool)


PolicyValidator = validators.extend(  # type: ignore[no-untyped-call]  # jsonschema's extend is untyped
    Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer)
)


MAX_DURATION_SECONDS = 10 * 366 * 86400  # ten years: longer windows are a mistake, and dates overflow


def parse_duration(text: str) -> int:
    """``48h``, ``1h30m``, ``2d`` or ISO 8601 ``PT48H``: a positive number of seconds, at most ten years."""
    iso = _ISO_DURATION.match(text)
    if iso:
        days, hours, minutes, seconds = (int(x) if x else 0 for x in iso.groups())
        total = days * 86400 + hours * 3600 + minutes * 60 + seconds
    else:
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{text!r} is not a duration like 48h, 1h30m or PT48H")
        total = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if not 0 < total <= MAX_DURATION_SECONDS:
        raise ValueError(f"the duration {text!r} must be longer than zero and at most ten years")
    return total
